//! The console's templates: minijinja (the engine of the clients' pages and the messages),
//! every template embedded at build time with `include_str!`, in one environment built once.
//!
//! What templates get besides their screen's data:
//! - `frame`: the layout's data ([`super::frame::Frame`]); `lang`, `currency`, `zone` and
//!   `zones` (store id → IANA zone) at the top level for the helpers below.
//! - `t("key", name=value…)`: the string `key` of the catalog (`i18n.rs`) in the page's
//!   language, `{name}` placeholders filled in.
//! - filters `money` (minor units → `¥1,288.00`), `datetime(store_id?)`, `date(store_id?)`,
//!   `time(store_id?)` (an RFC 3339 instant → the store's local time, or the frame's zone).
//!
//! Values are HTML-escaped (the names end in `.html`). A unit test renders every template with
//! sample data, so a template error fails the tests rather than a page.

use super::format;
use super::frame::Frame;
use super::i18n::{self, Lang};
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind, State};
use serde::Serialize;
use std::sync::OnceLock;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        /// Every console template, by name, as compiled into the binary.
        pub const TEMPLATES: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../../templates/console/", $name)))),*
        ];
    };
}

templates!(
    "layout.html",
    "bare.html",
    "_form_errors.html",
    "_table.html",
    "_flash.html",
    "error.html",
    "login.html",
    "signup.html",
    "today.html",
    "clients.html",
    "_client_results.html",
    "client.html",
    "_sensitive.html",
    "client_form.html",
    "visit_new.html",
);

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let (env, errors) = build();
        for error in errors {
            // The unit tests parse and render every template; this only logs in a broken build.
            tracing::error!(error = %error, "console template does not parse");
        }
        env
    })
}

/// The environment, and the templates that did not parse.
fn build() -> (Environment<'static>, Vec<Error>) {
    let mut errors = Vec::new();
    {
        let mut env = Environment::new();
        // Semi-strict: a missing value may be tested (`{% if errors.phone %}`, `x or ""`) but
        // printing or iterating one is an error, which the unit tests catch.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
        for (name, source) in TEMPLATES {
            if let Err(error) = env.add_template(name, source) {
                errors.push(error);
            }
        }
        env.add_function("t", translate);
        env.add_filter("money", money);
        env.add_filter("datetime", |state: &State, at: String, store: Option<String>| {
            instant(state, &at, store).map(|(at, zone, lang)| format::datetime(at, zone, lang))
        });
        env.add_filter("date", |state: &State, at: String, store: Option<String>| {
            instant(state, &at, store).map(|(at, zone, lang)| format::date(at.with_timezone(&zone).date_naive(), lang))
        });
        env.add_filter("time", |state: &State, at: String, store: Option<String>| {
            instant(state, &at, store).map(|(at, zone, _)| format::time(at, zone))
        });
        (env, errors)
    }
}

fn lang_of(state: &State) -> Lang {
    state
        .lookup("lang")
        .and_then(|v| v.as_str().map(Lang::from_tag))
        .unwrap_or(Lang::En)
}

fn translate(state: &State, key: &str, args: Kwargs) -> Result<String, Error> {
    let lang = lang_of(state);
    let mut text = i18n::text(key, lang)
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("no string `{key}` in the catalog")))?
        .to_owned();
    for name in args.args() {
        let value: Value = args.get(name)?;
        text = text.replace(&format!("{{{name}}}"), &value.to_string());
    }
    Ok(text)
}

fn money(state: &State, cents: i64) -> String {
    let currency = state.lookup("currency");
    format::money(cents, currency.as_ref().and_then(Value::as_str).unwrap_or("CNY"))
}

fn instant(
    state: &State,
    at: &str,
    store: Option<String>,
) -> Result<(chrono::DateTime<chrono::Utc>, chrono_tz::Tz, Lang), Error> {
    let at = chrono::DateTime::parse_from_rfc3339(at)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("not an RFC 3339 time `{at}`: {e}")))?
        .to_utc();
    let zone = store
        .and_then(|id| state.lookup("zones").and_then(|zones| zones.get_attr(&id).ok()))
        .filter(|v| !v.is_undefined() && !v.is_none())
        .or_else(|| state.lookup("zone"))
        .and_then(|v| v.as_str().and_then(|name| name.parse::<chrono_tz::Tz>().ok()))
        .unwrap_or(chrono_tz::Asia::Shanghai);
    Ok((at, zone, lang_of(state)))
}

/// Render a screen in the layout: `frame` and the helpers' variables, then the screen's data.
pub fn render(name: &str, frame: &Frame, data: &impl Serialize) -> Result<String, Error> {
    let zones: std::collections::BTreeMap<&str, &str> = frame
        .stores
        .iter()
        .map(|s| (s.id.as_str(), s.timezone.as_str()))
        .collect();
    let context = minijinja::context! {
        frame => Value::from_serialize(frame),
        lang => frame.lang,
        currency => frame.currency.as_str(),
        zone => frame.zone.as_str(),
        zones => zones,
        ..Value::from_serialize(data)
    };
    environment().get_template(name)?.render(context)
}

/// Render a page without the signed-in frame (login, signup, error pages): `data` must hold
/// `lang` where the page has one language (error pages show both).
pub fn render_bare(name: &str, data: &impl Serialize) -> Result<String, Error> {
    let context = minijinja::context! {
        currency => "CNY",
        zone => "Asia/Shanghai",
        zones => Value::from(()),
        ..Value::from_serialize(data)
    };
    environment().get_template(name)?.render(context)
}

#[cfg(test)]
mod tests {
    use super::super::samples;
    use super::*;

    #[test]
    fn every_template_parses() {
        let (_, errors) = build();
        let messages: Vec<String> = errors.iter().map(|e| format!("{e:#}")).collect();
        assert!(messages.is_empty(), "{}", messages.join("\n"));
    }

    /// Every template renders with sample data in both languages (strict: an unknown variable,
    /// a missing string or a broken filter fails).
    #[test]
    fn every_template_renders() {
        for (name, _) in TEMPLATES {
            for lang in [Lang::ZhCn, Lang::En] {
                let html = samples::render(name, lang).unwrap_or_else(|e| panic!("{name} ({lang:?}): {e:#}"));
                samples::render_empty_form(name, lang)
                    .unwrap_or_else(|e| panic!("{name} ({lang:?}), nothing typed: {e:#}"));
                assert!(
                    !html.trim().is_empty() || name.starts_with('_'),
                    "{name} rendered nothing"
                );
            }
        }
    }

    /// No page carries inline script or style (the CSP would block them) or loads anything
    /// from another origin.
    #[test]
    fn no_inline_script_or_style() {
        for (name, source) in TEMPLATES {
            for banned in [
                "<script>",
                "<style",
                " style=",
                "onclick=",
                "onload=",
                "onsubmit=",
                "http://",
                "https://",
            ] {
                assert!(!source.contains(banned), "{name} contains {banned}");
            }
        }
    }

    /// Every string a template asks for is in the catalog, in both languages.
    #[test]
    fn every_string_is_translated() {
        let call = regex_lite_keys();
        for (name, source) in TEMPLATES {
            for key in call(source) {
                assert!(i18n::text(&key, Lang::ZhCn).is_some(), "{name}: `{key}` lacks zh-CN");
                assert!(i18n::text(&key, Lang::En).is_some(), "{name}: `{key}` lacks en");
            }
        }
        for screen in super::super::nav::SCREENS {
            assert!(i18n::text(screen.label, Lang::En).is_some(), "{}", screen.label);
        }
    }

    /// The keys in `t("…")` calls of a template.
    fn regex_lite_keys() -> impl Fn(&str) -> Vec<String> {
        |source: &str| {
            source
                .match_indices("t(\"")
                .filter_map(|(i, _)| {
                    let rest = &source[i + 3..];
                    // A key built at run time (`t("error." ~ kind)`) is checked where it is made.
                    let end = rest.find('"')?;
                    let after = rest[end + 1..].trim_start();
                    (after.starts_with(')') || after.starts_with(',')).then(|| rest[..end].to_owned())
                })
                .collect()
        }
    }

    #[test]
    fn money_filter_and_times_follow_the_frame() {
        let frame = samples::frame(Lang::ZhCn);
        let html = environment()
            .template_from_str("{{ 128800|money }} {{ '2026-12-01T17:05:00Z'|datetime }}")
            .unwrap()
            .render(minijinja::context! { lang => frame.lang, currency => "CNY", zone => "Asia/Shanghai", zones => Value::from(()) })
            .unwrap();
        assert_eq!(html, "¥1,288.00 2026年12月2日 01:05");
    }
}
