//! What a template may say: minijinja text restricted to what a salon needs. Placeholders are
//! written `{{ client_name }}` (a bare name from the allowed set, no filters or expressions) and
//! optional values can be wrapped in `{% if offer %}…{% else %}…{% endif %}` (conditions are
//! placeholders joined with `and`, `or`, `not` and parentheses). Loops, assignments, filters and
//! literals are refused, so a template's output is bounded by its text and its values.

use crate::error::FieldError;
use crate::outreach::MessageKind;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

/// Placeholders every kind of message may use.
pub const PLACEHOLDERS: [&str; 7] = [
    "client_name",
    "store_name",
    "store_phone",
    "salon_name",
    "date",
    "link",
    "offer",
];

/// Placeholders only the messages to staff (complaint alerts and escalations) may use.
pub const STAFF_PLACEHOLDERS: [&str; 2] = ["staff_name", "complaint_summary"];

/// A body is at most this many characters (before rendering).
pub const BODY_MAX: usize = 2000;
/// An email subject is at most this many characters (before rendering).
pub const SUBJECT_MAX: usize = 200;

/// Whether `name` is a placeholder messages of `kind` may use.
pub fn allowed(kind: MessageKind, name: &str) -> bool {
    PLACEHOLDERS.contains(&name) || (kind.is_staff_alert() && STAFF_PLACEHOLDERS.contains(&name))
}

/// The engine every template is parsed and rendered with: no filters, tests, functions or
/// globals; a name that is not in the context is an error (strict); a placeholder with no value
/// (`None`) prints nothing; nothing is escaped (SMS and email text; HTML email is derived from
/// the text elsewhere).
pub(super) fn environment() -> Environment<'static> {
    let mut env = Environment::empty();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_formatter(|out, state, value| {
        if value.is_none() {
            Ok(())
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    env
}

/// Which part of a template is checked: the rules differ a little.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Subject,
    Body,
}

/// Check one template text of a message of `kind`; the placeholders it uses, in the order of
/// [`PLACEHOLDERS`] then [`STAFF_PLACEHOLDERS`]. The error's field is left for the caller.
pub(super) fn check(kind: MessageKind, part: Part, source: &str) -> Result<Vec<&'static str>, FieldError> {
    if source.trim().is_empty() {
        return Err(FieldError::new("required", "must not be empty"));
    }
    let (max, what) = match part {
        Part::Subject => (SUBJECT_MAX, "subject"),
        Part::Body => (BODY_MAX, "body"),
    };
    let length = source.chars().count();
    if length > max {
        return Err(FieldError::new(
            "too_long",
            format!("the {what} is {length} characters; at most {max} are allowed"),
        ));
    }
    if part == Part::Subject && source.contains(['\n', '\r']) {
        return Err(FieldError::new("single_line", "a subject is one line"));
    }
    let env = environment();
    let template = env.template_from_str(source).map_err(|error| {
        let detail = error.detail().unwrap_or("invalid template");
        let message = match error.line() {
            Some(line) => format!("template syntax error on line {line}: {detail}"),
            None => format!("template syntax error: {detail}"),
        };
        FieldError::new("template_syntax", message)
    })?;
    let mut used: Vec<String> = template.undeclared_variables(false).into_iter().collect();
    used.sort();
    for name in &used {
        if STAFF_PLACEHOLDERS.contains(&name.as_str()) && !kind.is_staff_alert() {
            return Err(FieldError::new(
                "unavailable_placeholder",
                format!(
                    "the placeholder {{{{ {name} }}}} is only available in messages to staff \
                     (complaint_alert, escalation)"
                ),
            ));
        }
        if !allowed(kind, name) {
            return Err(FieldError::new(
                "unknown_placeholder",
                format!(
                    "unknown placeholder {{{{ {name} }}}}; use one of: {}",
                    names(kind).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    check_constructs(kind, source)?;
    if kind == MessageKind::Survey && part == Part::Body && !used.iter().any(|name| name == "link") {
        return Err(FieldError::new(
            "link_required",
            "a survey message must contain its link: {{ link }}",
        ));
    }
    Ok(names(kind).filter(|name| used.iter().any(|u| u == name)).collect())
}

/// The placeholders of `kind`, in display order.
pub(super) fn names(kind: MessageKind) -> impl Iterator<Item = &'static str> {
    let staff: &'static [&'static str] = if kind.is_staff_alert() {
        &STAFF_PLACEHOLDERS
    } else {
        &[]
    };
    PLACEHOLDERS.iter().chain(staff).copied()
}

fn unsupported(what: &str) -> FieldError {
    FieldError::new(
        "unsupported_syntax",
        format!(
            "{what}: write placeholders as {{{{ name }}}} and conditions as {{% if name %}}…{{% else %}}…{{% endif %}}; \
             filters, expressions and other blocks are not supported"
        ),
    )
}

/// Every tag of a template that minijinja has already parsed is a bare allowed placeholder, an
/// `if`/`elif`/`else`/`endif` over allowed placeholders, or a comment. Tags are found by their
/// delimiters without minijinja's lexer; anything the scan cannot read as allowed is refused.
fn check_constructs(kind: MessageKind, source: &str) -> Result<(), FieldError> {
    let mut rest = source;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let close = match after.chars().next() {
            Some('{') => "}}",
            Some('%') => "%}",
            Some('#') => "#}",
            _ => {
                rest = after;
                continue;
            }
        };
        let opened = &after[1..];
        let Some(end) = opened.find(close) else {
            return Err(unsupported("an unclosed tag"));
        };
        let tag = opened[..end].trim_matches(['-', '+']).trim();
        rest = &opened[end + close.len()..];
        match close {
            "}}" if !allowed(kind, tag) => {
                return Err(unsupported(&format!("{{{{ {tag} }}}} is not a placeholder")));
            }
            "%}" => {
                let spaced = tag.replace(['(', ')'], " ");
                let mut words = spaced.split_whitespace();
                let ok = match words.next() {
                    Some("if" | "elif") => {
                        let mut any = false;
                        let all = words.all(|word| {
                            any = true;
                            matches!(word, "and" | "or" | "not") || allowed(kind, word)
                        });
                        any && all
                    }
                    Some("else" | "endif") => words.next().is_none(),
                    _ => false,
                };
                if !ok {
                    return Err(unsupported(&format!("{{% {tag} %}} is not supported")));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(kind: MessageKind, source: &str) -> Result<Vec<&'static str>, FieldError> {
        check(kind, Part::Body, source)
    }

    #[test]
    fn placeholders_are_listed_in_order() {
        let used = body(
            MessageKind::Birthday,
            "{{ offer }} {{client_name}} {% if store_phone %}{{ store_phone }}{% endif %}",
        )
        .unwrap();
        assert_eq!(used, ["client_name", "store_phone", "offer"]);
    }

    #[test]
    fn unknown_placeholders_are_named() {
        let error = body(MessageKind::Birthday, "您好 {{ client_name }}，{{ coupon }}").unwrap_err();
        assert_eq!(error.code, "unknown_placeholder");
        assert!(error.message.contains("{{ coupon }}"), "{}", error.message);
        let error = body(MessageKind::WakeUp, "{% if vip %}x{% endif %}").unwrap_err();
        assert!(error.message.contains("{{ vip }}"), "{}", error.message);
    }

    #[test]
    fn staff_placeholders_only_for_staff() {
        assert!(body(MessageKind::ComplaintAlert, "{{ staff_name }}: {{ complaint_summary }}").is_ok());
        let error = body(MessageKind::Birthday, "{{ complaint_summary }}").unwrap_err();
        assert_eq!(error.code, "unavailable_placeholder");
    }

    #[test]
    fn syntax_errors_say_where() {
        let error = body(MessageKind::Birthday, "line one\n{{ client_name ").unwrap_err();
        assert_eq!(error.code, "template_syntax");
        assert!(error.message.contains("line 2"), "{}", error.message);
        assert_eq!(
            body(MessageKind::Birthday, "{% if offer %}x").unwrap_err().code,
            "template_syntax"
        );
    }

    #[test]
    fn only_placeholders_and_conditions() {
        for source in [
            "{{ client_name | upper }}",
            "{{ 'x' * 100000 }}",
            "{{ none }}",
            "{% for c in client_name %}{{ c }}{% endfor %}",
            "{% set x = client_name %}{{ x }}",
            "{% raw %}{{ client_name }}{% endraw %}",
            "{% if offer is defined %}x{% endif %}",
            "{% if offer == 'x' %}x{% endif %}",
        ] {
            let error = body(MessageKind::Birthday, source).unwrap_err();
            assert!(
                ["unsupported_syntax", "unknown_placeholder", "template_syntax"].contains(&error.code),
                "{source}: {error:?}"
            );
        }
        assert!(body(
            MessageKind::Birthday,
            "{#- note -#}{%- if offer and not (date or link) -%}{{- offer -}}{% elif date %}{{ date }}{% else %}-{% endif %} {x}"
        )
        .is_ok());
    }

    #[test]
    fn limits_and_survey_link() {
        assert_eq!(body(MessageKind::Birthday, "  \n").unwrap_err().code, "required");
        assert_eq!(
            body(MessageKind::Birthday, &"好".repeat(2001)).unwrap_err().code,
            "too_long"
        );
        assert!(body(MessageKind::Birthday, &"好".repeat(2000)).is_ok());
        assert_eq!(
            check(MessageKind::Birthday, Part::Subject, "a\nb").unwrap_err().code,
            "single_line"
        );
        assert_eq!(body(MessageKind::Survey, "请评价").unwrap_err().code, "link_required");
        assert!(check(MessageKind::Survey, Part::Subject, "请评价").is_ok());
    }
}
