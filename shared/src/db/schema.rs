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
        locale -> Nullable<Text>,
        password_must_change -> Bool,
    }
}

diesel::table! {
    password_tokens (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        staff_id -> Text,
        purpose -> Text,
        token_hash -> Text,
        message_id -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
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
        survey_due_at -> Nullable<Timestamp>,
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
    idempotency_keys (tenant_id, staff_id, route, key) {
        tenant_id -> Text,
        staff_id -> Text,
        route -> Text,
        key -> Text,
        request_hash -> Text,
        status -> Integer,
        response -> Text,
        client_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tenant_settings (tenant_id) {
        tenant_id -> Text,
        settings -> Text,
        version -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    client_care (tenant_id, client_id) {
        tenant_id -> Text,
        client_id -> Text,
        birthday_year -> Nullable<Integer>,
        wake_up_due_at -> Nullable<Timestamp>,
        spell_visit_at -> Nullable<Timestamp>,
        wake_ups_in_spell -> Integer,
        last_marketing_at -> Nullable<Timestamp>,
        opted_out_at -> Nullable<Timestamp>,
        opt_out_source -> Nullable<Text>,
    }
}

diesel::table! {
    surveys (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        visit_id -> Text,
        client_id -> Text,
        store_id -> Text,
        locale -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        answered_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        score_service -> Nullable<Integer>,
        score_technician -> Nullable<Integer>,
        score_environment -> Nullable<Integer>,
        score_result -> Nullable<Integer>,
        nps -> Nullable<Integer>,
        comment -> Nullable<Text>,
        overall_x100 -> Nullable<Integer>,
        complaint_id -> Nullable<Text>,
    }
}

diesel::table! {
    link_tokens (token_hash) {
        token_hash -> Text,
        tenant_id -> Text,
        purpose -> Text,
        subject_id -> Text,
        message_id -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    complaints (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        client_id -> Text,
        store_id -> Text,
        visit_id -> Nullable<Text>,
        survey_id -> Nullable<Text>,
        source -> Text,
        summary -> Text,
        status -> Text,
        level -> Integer,
        opened_by -> Nullable<Text>,
        opened_at -> Timestamp,
        callback_due_at -> Timestamp,
        callback_at -> Nullable<Timestamp>,
        solution_due_at -> Timestamp,
        solution_at -> Nullable<Timestamp>,
        follow_up_due_at -> Nullable<Timestamp>,
        follow_up_at -> Nullable<Timestamp>,
        next_deadline_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
        resolution_satisfaction -> Nullable<Integer>,
        assignee_id -> Nullable<Text>,
    }
}

diesel::table! {
    complaint_events (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        complaint_id -> Text,
        at -> Timestamp,
        kind -> Text,
        level -> Integer,
        staff_id -> Nullable<Text>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    messages (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        kind -> Text,
        occasion -> Text,
        client_id -> Nullable<Text>,
        staff_id -> Nullable<Text>,
        store_id -> Nullable<Text>,
        visit_id -> Nullable<Text>,
        complaint_id -> Nullable<Text>,
        channel -> Text,
        recipient -> Nullable<Text>,
        locale -> Text,
        subject -> Nullable<Text>,
        body -> Text,
        params -> Text,
        status -> Text,
        suppression_reason -> Nullable<Text>,
        attempts -> Integer,
        due_at -> Timestamp,
        next_attempt_at -> Nullable<Timestamp>,
        provider -> Nullable<Text>,
        provider_message_id -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    stores,
    staff,
    password_tokens,
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
    tenant_settings,
    client_care,
    surveys,
    link_tokens,
    complaints,
    complaint_events,
    messages,
);
