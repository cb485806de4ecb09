//! The tables, one definition for both backends (the migrations under `migrations/postgres`
//! and `migrations/sqlite` create the same columns with the same types).

diesel::table! {
    tenants (id) {
        id -> Text,
        name -> Text,
        timezone -> Text,
        locale -> Text,
        country -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        currency -> Text,
    }
}

diesel::table! {
    stores (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        name -> Text,
        timezone -> Text,
        address -> Nullable<Text>,
        phone -> Nullable<Text>,
        quiet_start -> Nullable<Text>,
        quiet_end -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    staff (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        name -> Text,
        email -> Text,
        phone -> Nullable<Text>,
        role -> Text,
        store_id -> Nullable<Text>,
        password_hash -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        staff_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    clients (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        name -> Text,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        gender -> Nullable<Text>,
        birthday_month -> Nullable<Integer>,
        birthday_day -> Nullable<Integer>,
        birth_year -> Nullable<Integer>,
        locale -> Nullable<Text>,
        preferred_channel -> Text,
        marketing_consent -> Bool,
        consent_changed_at -> Nullable<Timestamp>,
        consent_source -> Nullable<Text>,
        home_store_id -> Nullable<Text>,
        consultant_id -> Nullable<Text>,
        source -> Nullable<Text>,
        referrer_id -> Nullable<Text>,
        tags -> Text,
        skin_type -> Nullable<Text>,
        sensitive_enc -> Nullable<Text>,
        preferences -> Nullable<Text>,
        notes -> Nullable<Text>,
        visit_count -> Integer,
        first_visit_at -> Nullable<Timestamp>,
        last_visit_at -> Nullable<Timestamp>,
        total_spent_cents -> BigInt,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
        erased_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    client_search (tenant_id, kind, term, client_id) {
        tenant_id -> Text,
        kind -> Text,
        term -> Text,
        client_id -> Text,
    }
}

diesel::table! {
    client_stores (tenant_id, store_id, client_id) {
        tenant_id -> Text,
        store_id -> Text,
        client_id -> Text,
    }
}

diesel::table! {
    services (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        name -> Text,
        category -> Nullable<Text>,
        duration_minutes -> Nullable<Integer>,
        price_cents -> BigInt,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    visits (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        client_id -> Text,
        store_id -> Text,
        staff_id -> Nullable<Text>,
        completed_at -> Timestamp,
        subtotal_cents -> BigInt,
        discount_cents -> BigInt,
        total_cents -> BigInt,
        currency -> Text,
        payment_method -> Text,
        notes -> Nullable<Text>,
        status -> Text,
        voided_at -> Nullable<Timestamp>,
        void_reason -> Nullable<Text>,
        source -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    visit_lines (tenant_id, visit_id, line_no) {
        tenant_id -> Text,
        visit_id -> Text,
        line_no -> Integer,
        service_id -> Nullable<Text>,
        description -> Text,
        amount_cents -> BigInt,
    }
}

diesel::table! {
    audit_log (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        action -> Text,
        subject_type -> Text,
        subject_id -> Nullable<Text>,
        details -> Text,
    }
}

diesel::table! {
    export_requests (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        requested_by -> Text,
        purpose -> Text,
        store_id -> Nullable<Text>,
        status -> Text,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        self_approved -> Bool,
        expires_at -> Nullable<Timestamp>,
        downloaded_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (tenant_id, key) {
        tenant_id -> Text,
        key -> Text,
        request_hash -> Text,
        status -> Integer,
        response -> Text,
        created_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    stores,
    staff,
    sessions,
    clients,
    client_search,
    client_stores,
    services,
    visits,
    visit_lines,
    audit_log,
    export_requests,
    idempotency_keys,
);
