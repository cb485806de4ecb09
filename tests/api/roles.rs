//! The role matrix: for each role, an action it may take and one it may not (403).

use e2e::{both_backends, Backend, Session, TestApp};
use serde_json::json;

struct Chain {
    app: TestApp,
    owner: Session,
    store_a: String,
    store_b: String,
}

async fn chain(backend: Backend) -> Chain {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let store_a = app.create_store(&owner, "A").await;
    let store_b = app.create_store(&owner, "B").await;
    Chain {
        app,
        owner,
        store_a,
        store_b,
    }
}

/// A new member, invited by email (only an owner may set a first password).
fn new_staff(role: &str, store: Option<&str>) -> serde_json::Value {
    json!({
        "name": "新员工",
        "email": format!("new-{}@example.com", uuid::Uuid::new_v4().simple()),
        "role": role,
        "store_id": store,
    })
}

async fn owner_may_do_everything_including_making_owners(backend: Backend) {
    let c = chain(backend).await;
    let second_owner = c
        .app
        .post("/api/v1/staff", &c.owner.token, &new_staff("owner", None))
        .await;
    assert_eq!(second_owner.status, 201, "{}", second_owner.text);
    let store = c
        .app
        .post("/api/v1/stores", &c.owner.token, &json!({ "name": "C" }))
        .await;
    assert_eq!(store.status, 201, "{}", store.text);
    assert_eq!(
        store.json["timezone"], "Asia/Shanghai",
        "a store defaults to the tenant's zone"
    );
}

async fn hq_manager_manages_stores_but_cannot_make_owners(backend: Backend) {
    let c = chain(backend).await;
    let hq = c.app.create_staff(&c.owner, "hq_manager", None).await;
    let store = c.app.post("/api/v1/stores", &hq.token, &json!({ "name": "C" })).await;
    assert_eq!(store.status, 201, "{}", store.text);
    c.app
        .post("/api/v1/staff", &hq.token, &new_staff("owner", None))
        .await
        .problem(403);
    c.app
        .patch(
            &format!("/api/v1/staff/{}", c.owner.staff_id),
            &hq.token,
            &json!({ "name": "x" }),
        )
        .await
        .problem(403);
}

async fn store_manager_hires_in_their_store_only(backend: Backend) {
    let c = chain(backend).await;
    let manager = c.app.create_staff(&c.owner, "store_manager", Some(&c.store_a)).await;
    let hired = c
        .app
        .post(
            "/api/v1/staff",
            &manager.token,
            &new_staff("front_desk", Some(&c.store_a)),
        )
        .await;
    assert_eq!(hired.status, 201, "{}", hired.text);
    c.app
        .post(
            "/api/v1/staff",
            &manager.token,
            &new_staff("front_desk", Some(&c.store_b)),
        )
        .await
        .problem(403);
    c.app
        .post(
            "/api/v1/staff",
            &manager.token,
            &new_staff("store_manager", Some(&c.store_a)),
        )
        .await
        .problem(403);
    c.app
        .post("/api/v1/stores", &manager.token, &json!({ "name": "Mine" }))
        .await
        .problem(403);
}

async fn front_desk_reads_but_does_not_manage(backend: Backend) {
    let c = chain(backend).await;
    let desk = c.app.create_staff(&c.owner, "front_desk", Some(&c.store_a)).await;
    let stores = c.app.get("/api/v1/stores", &desk.token).await;
    assert_eq!(stores.status, 200);
    assert_eq!(stores.json["items"].as_array().unwrap().len(), 2);
    c.app
        .post("/api/v1/staff", &desk.token, &new_staff("beautician", Some(&c.store_a)))
        .await
        .problem(403);
}

async fn beautician_reads_but_cannot_change_stores(backend: Backend) {
    let c = chain(backend).await;
    let beautician = c.app.create_staff(&c.owner, "beautician", Some(&c.store_b)).await;
    let staff = c.app.get("/api/v1/staff", &beautician.token).await;
    assert_eq!(staff.status, 200, "{}", staff.text);
    c.app
        .patch(
            &format!("/api/v1/stores/{}", c.store_b),
            &beautician.token,
            &json!({ "name": "x" }),
        )
        .await
        .problem(403);
    c.app
        .delete(&format!("/api/v1/stores/{}", c.store_b), &beautician.token)
        .await
        .problem(403);
}

async fn the_last_owner_stays(backend: Backend) {
    let c = chain(backend).await;
    let path = format!("/api/v1/staff/{}", c.owner.staff_id);
    let demote = c
        .app
        .patch(&path, &c.owner.token, &json!({ "role": "hq_manager" }))
        .await;
    assert_eq!(demote.problem(409)["code"], "last_owner");
    let deactivate = c.app.patch(&path, &c.owner.token, &json!({ "active": false })).await;
    assert_eq!(deactivate.problem(409)["code"], "last_owner");
    assert_eq!(
        c.app.delete(&path, &c.owner.token).await.problem(409)["code"],
        "last_owner"
    );
    // Still the owner, still logged in.
    assert_eq!(
        c.app.get("/api/v1/me", &c.owner.token).await.json["staff"]["role"],
        "owner"
    );

    // With a second owner, the first may step down.
    let second = c.app.create_staff(&c.owner, "owner", None).await;
    let demote = c
        .app
        .patch(&path, &second.token, &json!({ "role": "hq_manager" }))
        .await;
    assert_eq!(demote.status, 200, "{}", demote.text);
    assert_eq!(demote.json["role"], "hq_manager");
}

async fn store_roles_need_a_store_and_hq_roles_none(backend: Backend) {
    let c = chain(backend).await;
    let no_store = c
        .app
        .post("/api/v1/staff", &c.owner.token, &new_staff("beautician", None))
        .await;
    assert_eq!(no_store.invalid_fields(), ["store_id"]);
    let hq_with_store = c
        .app
        .post(
            "/api/v1/staff",
            &c.owner.token,
            &new_staff("hq_manager", Some(&c.store_a)),
        )
        .await;
    assert_eq!(hq_with_store.invalid_fields(), ["store_id"]);
    let unknown_store = c
        .app
        .post(
            "/api/v1/staff",
            &c.owner.token,
            &new_staff("beautician", Some("01900000-0000-7000-8000-000000000000")),
        )
        .await;
    assert_eq!(unknown_store.invalid_fields(), ["store_id"]);
    let bad_role = c
        .app
        .post("/api/v1/staff", &c.owner.token, &new_staff("janitor", None))
        .await;
    assert_eq!(bad_role.invalid_fields(), ["role"]);
}

both_backends!(
    owner_may_do_everything_including_making_owners,
    hq_manager_manages_stores_but_cannot_make_owners,
    store_manager_hires_in_their_store_only,
    front_desk_reads_but_does_not_manage,
    beautician_reads_but_cannot_change_stores,
    the_last_owner_stays,
    store_roles_need_a_store_and_hq_roles_none,
);
