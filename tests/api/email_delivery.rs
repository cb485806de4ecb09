//! Email delivery: the worker's `Mailer` against a real SMTP server on loopback (no database).

use std::time::Duration;

use e2e::fakes::smtp::{SmtpSink, SINK_MAIL_FROM};
use worker::delivery::email::{EmailConfig, EmailMessage, Mailer};
use worker::delivery::SendOutcome;

const WAIT: Duration = Duration::from_secs(5);

fn lookup(vars: Vec<(String, String)>) -> impl Fn(&str) -> Option<String> {
    move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

fn mailer_for(sink: &SmtpSink) -> Mailer {
    let config = EmailConfig::from_lookup(lookup(sink.env()))
        .unwrap()
        .expect("SMTP_URL is set");
    Mailer::new(config).unwrap()
}

fn birthday(id: &str) -> EmailMessage {
    EmailMessage {
        message_id: id.to_owned(),
        to: "lin@example.org".to_owned(),
        to_name: Some("林小姐".to_owned()),
        from_name: Some("悦己美发 Yueji Salon".to_owned()),
        subject: "林小姐，生日快乐！送您一份生日礼".to_owned(),
        text: "亲爱的林小姐：\n\n祝您生日快乐！本月到店护理享八折。\n预约：https://book.example.com/s/yueji?src=bday\n\n悦己美发"
            .to_owned(),
        html: None,
        lang: Some("zh-CN".to_owned()),
        list_unsubscribe: Some("https://crm.example.com/unsubscribe/abc123?sig=x".to_owned()),
    }
}

fn sent_id(outcome: &SendOutcome) -> String {
    match outcome {
        SendOutcome::Sent {
            provider_message_id: Some(id),
        } => id.clone(),
        other => panic!("expected Sent with a Message-ID, got {other:?}"),
    }
}

#[tokio::test]
async fn email_delivery_marketing_mail_arrives_once_with_both_bodies_and_unsubscribe() {
    let sink = SmtpSink::start();
    let mailer = mailer_for(&sink);
    let id = "0190a7e4-5a5e-7bb2-a3c1-2f4f1e0d9c11";

    let outcome = mailer.send(&birthday(id)).await;
    let message_id = sent_id(&outcome);
    assert_eq!(message_id, format!("<{id}@salon-crm.test>"));

    let received = sink.wait_for(1, WAIT).await;
    assert_eq!(received.len(), 1);
    // Nothing more arrives (no duplicate hand-over).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sink.received().len(), 1);

    let mail = &received[0];
    assert_eq!(mail.mail_from, "noreply@salon-crm.test");
    assert_eq!(mail.rcpt_to, vec!["lin@example.org".to_owned()]);
    assert_eq!(mail.header("Message-ID").as_deref(), Some(message_id.as_str()));
    assert!(mail.header("Date").is_some(), "{}", mail.raw);
    assert_eq!(mail.header("MIME-Version").as_deref(), Some("1.0"));
    assert!(
        mail.header("Content-Type")
            .unwrap()
            .starts_with("multipart/alternative"),
        "{}",
        mail.raw
    );
    assert_eq!(mail.header("Content-Language").as_deref(), Some("zh-CN"));
    assert_eq!(
        mail.header("List-Unsubscribe").as_deref(),
        Some("<https://crm.example.com/unsubscribe/abc123?sig=x>")
    );
    assert_eq!(
        mail.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );

    let parsed = mail_parser::MessageParser::default()
        .parse(mail.raw.as_bytes())
        .unwrap();
    let from = parsed.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("悦己美发 Yueji Salon"));
    assert_eq!(from.address(), Some("noreply@salon-crm.test"));
    let to = parsed.to().unwrap().first().unwrap();
    assert_eq!(to.name(), Some("林小姐"));
    assert_eq!(to.address(), Some("lin@example.org"));
    assert!(parsed.date().is_some());

    let text = mail.text().expect("a text/plain part");
    assert!(text.contains("祝您生日快乐！本月到店护理享八折。"), "{text}");
    assert!(text.contains("https://book.example.com/s/yueji?src=bday"), "{text}");
    let html = mail.html().expect("a text/html part");
    assert!(html.contains("祝您生日快乐！本月到店护理享八折。"), "{html}");
    assert!(
        html.contains(
            "<a href=\"https://book.example.com/s/yueji?src=bday\">https://book.example.com/s/yueji?src=bday</a>"
        ),
        "{html}"
    );
    assert!(html.contains("<html lang=\"zh-CN\">"), "{html}");
}

#[tokio::test]
async fn email_delivery_non_marketing_mail_has_no_unsubscribe_headers() {
    let sink = SmtpSink::start();
    let mailer = mailer_for(&sink);
    let message = EmailMessage {
        to: "manager@salon.example".to_owned(),
        to_name: None,
        subject: "New complaint".to_owned(),
        text: "A client filed a complaint.".to_owned(),
        html: Some("<p>A client filed a <b>complaint</b>.</p>".to_owned()),
        lang: None,
        list_unsubscribe: None,
        ..birthday("alert-1")
    };
    sent_id(&mailer.send(&message).await);

    let received = sink.wait_for(1, WAIT).await;
    let mail = &received[0];
    assert_eq!(mail.header("List-Unsubscribe"), None, "{}", mail.raw);
    assert_eq!(mail.header("List-Unsubscribe-Post"), None, "{}", mail.raw);
    assert_eq!(mail.header("Content-Language"), None, "{}", mail.raw);
    assert_eq!(
        mail.text().as_deref().map(str::trim_end),
        Some("A client filed a complaint.")
    );
    // A given HTML body is sent as is.
    assert_eq!(
        mail.html().as_deref().map(str::trim_end),
        Some("<p>A client filed a <b>complaint</b>.</p>")
    );
}

#[tokio::test]
async fn email_delivery_chinese_subject_and_dot_lines_survive() {
    let sink = SmtpSink::start();
    let mailer = mailer_for(&sink);
    let subject = "【悦己美发】您的护理回访问卷 — 感谢光临，期待您的宝贵意见与建议！这是一条很长的主题，用来检查编码后的折行是否正确";
    let text = "第一行\n.\n.以点开头的一行\n..两个点\n最后一行";
    let message = EmailMessage {
        subject: subject.to_owned(),
        text: text.to_owned(),
        ..birthday("survey-1")
    };
    sent_id(&mailer.send(&message).await);

    let received = sink.wait_for(1, WAIT).await;
    let mail = &received[0];
    assert_eq!(mail.subject().as_deref(), Some(subject));
    let got = mail.text().unwrap().replace("\r\n", "\n");
    assert_eq!(got.trim_end(), text);
}

#[tokio::test]
async fn email_delivery_451_is_transient_and_the_next_send_succeeds() {
    let sink = SmtpSink::start();
    let mailer = mailer_for(&sink);
    sink.reject_next(1, 451, "4.7.1 Greylisted, try again later");

    let outcome = mailer.send(&birthday("greylisted")).await;
    match &outcome {
        SendOutcome::Transient { code, error, .. } => {
            assert_eq!(code.as_deref(), Some("smtp_451"));
            assert!(error.contains("Greylisted"), "{error}");
        }
        other => panic!("expected Transient, got {other:?}"),
    }
    assert!(sink.received().is_empty());

    sent_id(&mailer.send(&birthday("greylisted")).await);
    assert_eq!(sink.wait_for(1, WAIT).await.len(), 1);
}

#[tokio::test]
async fn email_delivery_550_is_permanent() {
    let sink = SmtpSink::start();
    let mailer = mailer_for(&sink);
    sink.reject_next(
        1,
        550,
        "5.1.1 <lin@example.org>: Recipient address rejected: User unknown",
    );

    let outcome = mailer.send(&birthday("bounced")).await;
    match &outcome {
        SendOutcome::Permanent { code, error } => {
            assert_eq!(code.as_deref(), Some("smtp_550"));
            assert!(error.contains("User unknown"), "{error}");
        }
        other => panic!("expected Permanent, got {other:?}"),
    }
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn email_delivery_sink_down_is_transient_then_recovers() {
    let sink = SmtpSink::start();
    let mailer = mailer_for(&sink);
    // A pooled connection exists when the server goes away.
    sent_id(&mailer.send(&birthday("before")).await);

    sink.set_down(true);
    let outcome = mailer.send(&birthday("during")).await;
    assert!(matches!(outcome, SendOutcome::Transient { .. }), "{outcome:?}");
    assert_eq!(outcome.code(), Some("smtp_421"), "{outcome:?}");

    sink.set_down(false);
    sent_id(&mailer.send(&birthday("after")).await);
    let received = sink.wait_for(2, WAIT).await;
    let ids: Vec<_> = received.iter().map(|m| m.header("Message-ID").unwrap()).collect();
    assert_eq!(ids, vec!["<before@salon-crm.test>", "<after@salon-crm.test>"]);
}

#[tokio::test]
async fn email_delivery_connection_refused_is_transient() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let env = vec![
        ("SMTP_URL".to_owned(), format!("smtp://127.0.0.1:{port}")),
        ("MAIL_FROM".to_owned(), SINK_MAIL_FROM.to_owned()),
    ];
    let mailer = Mailer::new(EmailConfig::from_lookup(lookup(env)).unwrap().unwrap()).unwrap();
    let outcome = mailer.send(&birthday("refused")).await;
    assert!(matches!(outcome, SendOutcome::Transient { .. }), "{outcome:?}");
    assert_eq!(outcome.code(), Some("connect"), "{outcome:?}");
}

#[tokio::test]
async fn email_delivery_invalid_address_is_permanent_and_nothing_is_sent() {
    let sink = SmtpSink::start();
    let mailer = mailer_for(&sink);
    let outcome = mailer
        .send(&EmailMessage {
            to: "lin at example dot org".to_owned(),
            ..birthday("bad-address")
        })
        .await;
    assert!(matches!(outcome, SendOutcome::Permanent { .. }), "{outcome:?}");
    assert_eq!(outcome.code(), Some("invalid_address"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(sink.received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn email_delivery_concurrent_sends_all_arrive_once() {
    let sink = SmtpSink::start();
    let mailer = std::sync::Arc::new(mailer_for(&sink));
    let sends: Vec<_> = (0..24)
        .map(|i| {
            let mailer = std::sync::Arc::clone(&mailer);
            tokio::spawn(async move {
                let message = EmailMessage {
                    to: format!("client{i}@example.org"),
                    ..birthday(&format!("bulk-{i}"))
                };
                mailer.send(&message).await
            })
        })
        .collect();
    for send in sends {
        sent_id(&send.await.unwrap());
    }
    let received = sink.wait_for(24, WAIT).await;
    assert_eq!(received.len(), 24);
    let mut ids: Vec<_> = received.iter().map(|m| m.header("Message-ID").unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 24);
}

#[test]
fn email_delivery_config_requires_mail_from_and_is_off_without_smtp_url() {
    let problems = EmailConfig::from_lookup(lookup(vec![(
        "SMTP_URL".to_owned(),
        "smtp://127.0.0.1:2525".to_owned(),
    )]))
    .unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("MAIL_FROM"), "{problems:?}");

    let none = EmailConfig::from_lookup(lookup(vec![("MAIL_FROM".to_owned(), SINK_MAIL_FROM.to_owned())])).unwrap();
    assert!(none.is_none());

    let config = EmailConfig::from_lookup(lookup(vec![
        ("SMTP_URL".to_owned(), "smtp://127.0.0.1:2525".to_owned()),
        ("MAIL_FROM".to_owned(), SINK_MAIL_FROM.to_owned()),
        ("SMTP_CONCURRENCY".to_owned(), "2".to_owned()),
        ("SMTP_TIMEOUT_SECS".to_owned(), "5".to_owned()),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(config.concurrency(), 2);
    assert_eq!(config.timeout(), Duration::from_secs(5));
}

#[test]
fn email_delivery_sink_speaks_smtp_to_a_plain_client() {
    use std::io::{BufRead, BufReader, Write};

    let sink = SmtpSink::start();
    let stream = std::net::TcpStream::connect(sink.url().trim_start_matches("smtp://")).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut read_reply = || {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let done = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line.trim_end().to_owned());
            if done {
                return lines;
            }
        }
    };
    let mut send = |text: &str| writer.write_all(text.as_bytes()).unwrap();

    assert!(read_reply()[0].starts_with("220 "));
    send("MAIL FROM:<a@b.test>\r\n");
    assert!(read_reply()[0].starts_with("503 "), "MAIL before EHLO");
    send("EHLO client.test\r\n");
    let ehlo = read_reply();
    assert!(ehlo.iter().any(|l| l.ends_with("8BITMIME")), "{ehlo:?}");
    assert!(ehlo.iter().any(|l| l.ends_with("SMTPUTF8")), "{ehlo:?}");
    assert!(!ehlo.iter().any(|l| l.contains("STARTTLS")), "{ehlo:?}");
    send("VRFY someone\r\n");
    assert!(read_reply()[0].starts_with("502 "));
    send("DATA\r\n");
    assert!(read_reply()[0].starts_with("503 "), "DATA before MAIL");
    send("mail from: <a@b.test> BODY=8BITMIME\r\n");
    assert!(read_reply()[0].starts_with("250 "));
    send("RSET\r\n");
    assert!(read_reply()[0].starts_with("250 "));
    // Pipelined: MAIL, RCPT, DATA in one write.
    send("MAIL FROM:<>\r\nRCPT TO:<x@y.test>\r\nRCPT TO:<z@y.test>\r\nDATA\r\n");
    assert!(read_reply()[0].starts_with("250 "));
    assert!(read_reply()[0].starts_with("250 "));
    assert!(read_reply()[0].starts_with("250 "));
    assert!(read_reply()[0].starts_with("354 "));
    send("Subject: hi\r\n\r\n..leading dot\r\n.\r\n");
    assert!(read_reply()[0].starts_with("250 2.0.0 Ok: queued as "));
    send("NOOP\r\n");
    assert!(read_reply()[0].starts_with("250 "));
    send("QUIT\r\n");
    assert!(read_reply()[0].starts_with("221 "));

    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].mail_from, "");
    assert_eq!(received[0].rcpt_to, vec!["x@y.test", "z@y.test"]);
    assert_eq!(received[0].raw, "Subject: hi\r\n\r\n.leading dot\r\n");
    assert_eq!(received[0].subject().as_deref(), Some("hi"));
}
