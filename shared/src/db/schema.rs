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

diesel::allow_tables_to_appear_in_same_query!(tenants, stores, staff, sessions);
