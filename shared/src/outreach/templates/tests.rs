use super::*;

fn all() -> impl Iterator<Item = (MessageKind, Channel, Locale)> {
    MessageKind::templated().flat_map(|kind| {
        crate::outreach::CHANNELS
            .into_iter()
            .flat_map(move |channel| LOCALES.into_iter().map(move |locale| (kind, channel, locale)))
    })
}

fn vars(locale: Locale) -> TemplateVars {
    TemplateVars::sample(locale, "悦颜")
}

fn render_builtin(kind: MessageKind, channel: Channel, locale: Locale, vars: &TemplateVars) -> Rendered {
    let source: TemplateSource = builtin(kind, channel, locale).into();
    render_with(
        &source,
        kind,
        channel,
        locale,
        "悦颜",
        Some(SAMPLE_UNSUBSCRIBE_LINK),
        vars,
    )
    .unwrap()
}

#[test]
fn every_builtin_checks_and_uses_only_allowed_placeholders() {
    assert_eq!(all().count(), 20);
    for (kind, channel, locale) in all() {
        let template = builtin(kind, channel, locale);
        let what = format!("{} {} {}", kind.as_str(), channel.as_str(), locale.as_str());
        assert_eq!(template.subject.is_some(), channel == Channel::Email, "{what}");
        let used = check::check(kind, Part::Body, template.body).unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert!(used.contains(&"client_name"), "{what} greets the client by name");
        if let Some(subject) = template.subject {
            check::check(kind, Part::Subject, subject).unwrap_or_else(|e| panic!("{what} subject: {e:?}"));
        }
        match kind {
            MessageKind::Birthday | MessageKind::WakeUp => assert!(used.contains(&"offer"), "{what}"),
            MessageKind::Survey => assert!(used.contains(&"link") && used.contains(&"date"), "{what}"),
            MessageKind::ComplaintAlert | MessageKind::Escalation => {
                assert!(used.contains(&"complaint_summary") && used.contains(&"link"), "{what}")
            }
            MessageKind::StaffInvitation | MessageKind::PasswordReset => unreachable!("not templated"),
        }
    }
}

#[test]
fn account_messages_carry_their_link_and_are_not_templates() {
    for kind in [MessageKind::StaffInvitation, MessageKind::PasswordReset] {
        for channel in crate::outreach::CHANNELS {
            for locale in LOCALES {
                let what = format!("{} {} {}", kind.as_str(), channel.as_str(), locale.as_str());
                let template = builtin(kind, channel, locale);
                let used = check::check(kind, Part::Body, template.body).unwrap_or_else(|e| panic!("{what}: {e:?}"));
                assert!(used.contains(&"link") && used.contains(&"salon_name"), "{what}");
                let rendered = render_builtin(kind, channel, locale, &vars(locale));
                assert!(rendered.body.contains(SAMPLE_LINK), "{what}");
                assert!(
                    !rendered.body.contains("李晓雯") && !rendered.body.contains("Emma"),
                    "{what}"
                );
            }
        }
        let errors = NewTemplate::parse(kind, Channel::Email, "en", Some("x"), "{{ link }}").unwrap_err();
        assert_eq!(errors.0[0].field, "kind");
    }
    let invitation = render_builtin(
        MessageKind::StaffInvitation,
        Channel::Email,
        Locale::ZhCn,
        &vars(Locale::ZhCn),
    );
    assert!(invitation.body.contains("72小时"), "{}", invitation.body);
    let reset = render_builtin(
        MessageKind::PasswordReset,
        Channel::Email,
        Locale::En,
        &vars(Locale::En),
    );
    assert!(reset.body.contains("within 1 hour"), "{}", reset.body);
}

#[test]
fn builtin_sms_fit_two_parts_with_signature_and_opt_out() {
    // A long brand name as the signature, to leave room.
    let signature = "悦颜美容美体连锁";
    for (kind, channel, locale) in all().filter(|(_, channel, _)| *channel == Channel::Sms) {
        let source: TemplateSource = builtin(kind, channel, locale).into();
        let vars = TemplateVars::sample(locale, signature);
        let rendered = render_with(
            &source,
            kind,
            channel,
            locale,
            signature,
            Some(SAMPLE_UNSUBSCRIBE_LINK),
            &vars,
        )
        .unwrap();
        let length = sms_length(&rendered.body);
        let what = format!("{} {}: {}", kind.as_str(), locale.as_str(), rendered.body);
        assert!(length.segments <= 2, "{what} is {length:?}");
        if locale == Locale::En {
            assert_eq!(length.encoding, "gsm7", "{what}");
        }
        assert!(!rendered.body.contains("  "), "{what} has a double space");
        // Without the optional values the text still reads.
        let bare = TemplateVars {
            store_phone: None,
            date: None,
            offer: None,
            staff_name: None,
            complaint_summary: None,
            link: (kind == MessageKind::Survey).then(|| SAMPLE_LINK.to_owned()),
            ..vars
        };
        let rendered = render_with(&source, kind, channel, locale, signature, None, &bare).unwrap();
        assert!(
            !rendered.body.contains("  ") && !rendered.body.contains("none"),
            "{}",
            rendered.body
        );
    }
}

#[test]
fn renders_values_and_leaves_out_absent_ones() {
    let zh = vars(Locale::ZhCn);
    let rendered = render_builtin(MessageKind::Birthday, Channel::Sms, Locale::ZhCn, &zh);
    assert_eq!(
        rendered.body,
        format!(
            "【悦颜】亲爱的李晓雯，祝您生日快乐！生日当月到店即可享受面部深层补水护理一次，静安店期待您的光临。 \
             退订：{SAMPLE_UNSUBSCRIBE_LINK} 或回T退订"
        )
    );
    assert_eq!(rendered.subject, None);
    let no_offer = TemplateVars { offer: None, ..zh };
    let rendered = render_builtin(MessageKind::Birthday, Channel::Sms, Locale::ZhCn, &no_offer);
    assert!(
        rendered
            .body
            .starts_with("【悦颜】亲爱的李晓雯，祝您生日快乐！静安店期待您的光临。"),
        "{}",
        rendered.body
    );

    let en = vars(Locale::En);
    let email = render_builtin(MessageKind::Survey, Channel::Email, Locale::En, &en);
    assert_eq!(email.subject.as_deref(), Some("How was your visit to Downtown?"));
    assert!(
        email
            .body
            .starts_with("Hi Emma Li,\n\nThank you for visiting Downtown on Nov 24."),
        "{}",
        email.body
    );
    assert!(email.body.contains(SAMPLE_LINK));
    assert!(!email.body.contains("Unsubscribe"), "a survey is not marketing");
}

#[test]
fn framing_by_channel_locale_and_kind() {
    let zh = vars(Locale::ZhCn);
    let en = vars(Locale::En);
    // zh-CN SMS carry the signature; English SMS do not.
    let survey = render_builtin(MessageKind::Survey, Channel::Sms, Locale::ZhCn, &zh);
    assert!(survey.body.starts_with("【悦颜】李晓雯您好"), "{}", survey.body);
    assert!(
        !survey.body.contains("回T退订"),
        "service messages have no opt-out footer"
    );
    let survey = render_builtin(MessageKind::Survey, Channel::Sms, Locale::En, &en);
    assert!(survey.body.starts_with("Hi Emma Li"), "{}", survey.body);
    assert!(!survey.body.contains("STOP"));
    // Marketing SMS end with the way out.
    let wake = render_builtin(MessageKind::WakeUp, Channel::Sms, Locale::En, &en);
    assert!(
        wake.body.ends_with(&format!(
            "Unsubscribe: {SAMPLE_UNSUBSCRIBE_LINK} - Reply STOP to opt out"
        )),
        "{}",
        wake.body
    );
    let source: TemplateSource = builtin(MessageKind::WakeUp, Channel::Sms, Locale::ZhCn).into();
    let wake = render_with(
        &source,
        MessageKind::WakeUp,
        Channel::Sms,
        Locale::ZhCn,
        "悦颜",
        None,
        &zh,
    )
    .unwrap();
    assert!(wake.body.ends_with("。 回T退订"), "{}", wake.body);
    // Staff alerts: signature, no footer.
    let alert = render_builtin(MessageKind::ComplaintAlert, Channel::Sms, Locale::ZhCn, &zh);
    assert!(
        alert.body.starts_with("【悦颜】王店长，静安店客户李晓雯提交了投诉"),
        "{}",
        alert.body
    );
    assert!(!alert.body.contains("退订"));
    // Marketing email ends with the unsubscribe link; a blank signature adds no 【】.
    let email = render_builtin(MessageKind::Birthday, Channel::Email, Locale::ZhCn, &zh);
    assert!(
        email.body.ends_with(&format!("退订：{SAMPLE_UNSUBSCRIBE_LINK}")),
        "{}",
        email.body
    );
    assert!(!email.body.starts_with('【'));
    let source: TemplateSource = builtin(MessageKind::Birthday, Channel::Sms, Locale::ZhCn).into();
    let unsigned = render_with(
        &source,
        MessageKind::Birthday,
        Channel::Sms,
        Locale::ZhCn,
        " ",
        None,
        &zh,
    )
    .unwrap();
    assert!(unsigned.body.starts_with("亲爱的"), "{}", unsigned.body);
}

#[test]
fn framing_is_not_doubled() {
    let zh = vars(Locale::ZhCn);
    let source = TemplateSource {
        subject: None,
        body: "【悦颜】{{ client_name }}，生日快乐！回T退订".into(),
    };
    let rendered = render_with(
        &source,
        MessageKind::Birthday,
        Channel::Sms,
        Locale::ZhCn,
        "【悦颜】",
        None,
        &zh,
    )
    .unwrap();
    assert_eq!(rendered.body, "【悦颜】李晓雯，生日快乐！回T退订");
    let en = vars(Locale::En);
    let source = TemplateSource {
        subject: None,
        body: "Hi {{ client_name }}. Reply STOP to opt out".into(),
    };
    let rendered = render_with(
        &source,
        MessageKind::WakeUp,
        Channel::Sms,
        Locale::En,
        "x",
        Some("https://u"),
        &en,
    )
    .unwrap();
    assert_eq!(
        rendered.body,
        "Hi Emma Li. Reply STOP to opt out Unsubscribe: https://u"
    );
}

#[test]
fn a_survey_always_carries_its_link() {
    let zh = vars(Locale::ZhCn);
    let source = TemplateSource {
        subject: None,
        body: "{{ client_name }}，请评价{% if offer %}：{{ link }}{% endif %}".into(),
    };
    let without_offer = TemplateVars {
        offer: None,
        ..zh.clone()
    };
    let rendered = render_with(
        &source,
        MessageKind::Survey,
        Channel::Sms,
        Locale::ZhCn,
        "",
        None,
        &without_offer,
    )
    .unwrap();
    assert_eq!(rendered.body, format!("李晓雯，请评价 {SAMPLE_LINK}"));
    let no_link = TemplateVars { link: None, ..zh };
    let error = render_with(
        &source,
        MessageKind::Survey,
        Channel::Sms,
        Locale::ZhCn,
        "",
        None,
        &no_link,
    )
    .unwrap_err();
    assert!(matches!(error, Error::Validation(_)), "{error:?}");
}

#[test]
fn strict_rendering_and_sms_summaries() {
    let zh = vars(Locale::ZhCn);
    let unchecked = TemplateSource {
        subject: None,
        body: "{{ coupon }}".into(),
    };
    let error = render_with(
        &unchecked,
        MessageKind::Birthday,
        Channel::Sms,
        Locale::ZhCn,
        "",
        None,
        &zh,
    )
    .unwrap_err();
    assert!(matches!(error, Error::Internal(_)), "{error:?}");
    let source = TemplateSource {
        subject: None,
        body: "{{ complaint_summary }}".into(),
    };
    let long = TemplateVars {
        complaint_summary: Some("很".repeat(100)),
        ..zh.clone()
    };
    let sms = render_with(
        &source,
        MessageKind::Escalation,
        Channel::Sms,
        Locale::ZhCn,
        "",
        None,
        &long,
    )
    .unwrap();
    assert_eq!(sms.body, format!("{}…", "很".repeat(39)));
    let source = TemplateSource {
        subject: Some("{{ complaint_summary }}".into()),
        body: "{{ complaint_summary }}".into(),
    };
    let email = render_with(
        &source,
        MessageKind::Escalation,
        Channel::Email,
        Locale::ZhCn,
        "",
        None,
        &long,
    )
    .unwrap();
    assert_eq!(email.body, "很".repeat(100));
    // Values are not escaped and not interpreted.
    let tricky = TemplateVars {
        client_name: "<b>{{ offer }}</b> & co".into(),
        ..zh
    };
    let source = TemplateSource {
        subject: None,
        body: "{{ client_name }}".into(),
    };
    let rendered = render_with(
        &source,
        MessageKind::Survey,
        Channel::Sms,
        Locale::En,
        "",
        None,
        &tricky,
    )
    .unwrap();
    assert_eq!(rendered.body, format!("<b>{{{{ offer }}}}</b> & co {SAMPLE_LINK}"));
}

#[test]
fn new_templates_are_checked_field_by_field() {
    let ok = NewTemplate::parse(
        MessageKind::Birthday,
        Channel::Sms,
        "zh-CN",
        None,
        " 生日快乐 {{ client_name }} ",
    )
    .unwrap();
    assert_eq!(ok.body, "生日快乐 {{ client_name }}");
    assert_eq!(ok.locale, Locale::ZhCn);
    let fields = |errors: FieldErrors| errors.0.into_iter().map(|e| (e.field, e.code)).collect::<Vec<_>>();
    let errors = NewTemplate::parse(MessageKind::Birthday, Channel::Sms, "fr", Some("hi"), "{{ coupon }}").unwrap_err();
    assert_eq!(
        fields(errors),
        [
            ("locale".to_owned(), "unsupported_locale"),
            ("subject".to_owned(), "not_allowed"),
            ("body".to_owned(), "unknown_placeholder")
        ]
    );
    let errors = NewTemplate::parse(MessageKind::Birthday, Channel::Email, "en", None, "x").unwrap_err();
    assert_eq!(fields(errors), [("subject".to_owned(), "required")]);
    let errors = NewTemplate::parse(MessageKind::Birthday, Channel::Email, "en", Some("{{ bad }}"), "x").unwrap_err();
    assert_eq!(fields(errors), [("subject".to_owned(), "unknown_placeholder")]);
}

#[test]
fn describe_reports_placeholders_and_sample_length() {
    let source: TemplateSource = builtin(MessageKind::Birthday, Channel::Sms, Locale::ZhCn).into();
    let described = describe(&source, MessageKind::Birthday, Channel::Sms, Locale::ZhCn, "悦颜").unwrap();
    assert_eq!(described.placeholders, ["client_name", "store_name", "offer"]);
    let length = described.length.unwrap();
    assert_eq!((length.encoding, length.segments), ("ucs2", 2));
    let source: TemplateSource = builtin(MessageKind::Survey, Channel::Email, Locale::En).into();
    let described = describe(&source, MessageKind::Survey, Channel::Email, Locale::En, "Glow").unwrap();
    assert_eq!(
        described.placeholders,
        ["client_name", "store_name", "salon_name", "date", "link"]
    );
    assert!(described.length.is_none());
}
