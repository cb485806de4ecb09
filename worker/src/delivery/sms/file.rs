//! The `file` provider: each message becomes `{OUTBOX_DIR}/{message_id}.txt`, for development
//! and end-to-end tests. The file is written to a temporary name and renamed into place, so a
//! reader never sees half a message, and writing the same message again replaces the file with
//! the same content: the one idempotent provider.
//!
//! The file holds a header block, a blank line and the body:
//!
//! ```text
//! To: +8613800138000
//! Template: birthday
//! Param-client_name: 王女士
//! Param-store_name: 静安店
//!
//! 【美发沙龙】王女士，生日快乐！… 回T退订
//! ```

use std::path::Path;

use super::{permanent, transient, FileConfig, SmsMessage};
use crate::delivery::SendOutcome;

pub(crate) async fn send(config: &FileConfig, message: &SmsMessage) -> SendOutcome {
    let id = &message.message_id;
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return permanent("invalid_message_id", "file: the message id is not a safe file name");
    }
    let dir = config.dir.clone();
    let (name, content) = (id.clone(), render(message));
    let written = tokio::task::spawn_blocking(move || write(&dir, &name, &content)).await;
    match written {
        Ok(Ok(())) => SendOutcome::Sent {
            provider_message_id: Some(id.clone()),
        },
        Ok(Err(error)) => transient(
            "file_io",
            format!("file: cannot write {}/{id}.txt: {error}", config.dir.display()),
            None,
        ),
        Err(error) => transient("file_io", format!("file: the writing task failed: {error}"), None),
    }
}

/// The file's content.
pub fn render(message: &SmsMessage) -> String {
    let one_line = |s: &str| s.replace(['\r', '\n'], " ");
    let mut text = format!(
        "To: {}\nTemplate: {}\n",
        one_line(&message.to),
        one_line(&message.template)
    );
    for (name, value) in &message.params {
        text.push_str(&format!("Param-{}: {}\n", one_line(name), one_line(value)));
    }
    text.push('\n');
    text.push_str(&message.body);
    text.push('\n');
    text
}

fn write(dir: &Path, id: &str, content: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let temporary = dir.join(format!(".{id}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result =
        std::fs::write(&temporary, content).and_then(|()| std::fs::rename(&temporary, dir.join(format!("{id}.txt"))));
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn message(id: &str) -> SmsMessage {
        SmsMessage {
            message_id: id.into(),
            to: "+8613800138000".into(),
            body: "【美发】生日快乐 回T退订".into(),
            template: "birthday".into(),
            params: BTreeMap::from([("client_name".into(), "王女士".into())]),
        }
    }

    #[tokio::test]
    async fn writes_once_per_message() {
        let dir = std::env::temp_dir().join(format!("sms-file-test-{}", uuid::Uuid::new_v4()));
        let config = FileConfig { dir: dir.clone() };
        let id = "0b7c3f0e-2f7a-4a36-9d59-9f1c1d2e3f40";
        for _ in 0..2 {
            assert_eq!(
                send(&config, &message(id)).await,
                SendOutcome::Sent {
                    provider_message_id: Some(id.into())
                }
            );
        }
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(format!("{id}.txt"))]);
        let text = std::fs::read_to_string(dir.join(format!("{id}.txt"))).unwrap();
        assert_eq!(
            text,
            "To: +8613800138000\nTemplate: birthday\nParam-client_name: 王女士\n\n【美发】生日快乐 回T退订\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn refuses_unsafe_ids() {
        let config = FileConfig {
            dir: std::env::temp_dir(),
        };
        let outcome = send(&config, &message("../escape")).await;
        assert_eq!(outcome.code(), Some("invalid_message_id"));
    }
}
