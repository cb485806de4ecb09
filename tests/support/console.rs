//! A staff member using the console (`/app/`) the way a browser does: the session cookie, the
//! page's CSRF token, our own `Origin` on every form post. No redirect is followed, so tests see
//! each 303.

use crate::app::{Response, TestApp};
use reqwest::header;

/// A browser's session in the console.
pub struct ConsoleUser<'a> {
    pub app: &'a TestApp,
    /// The `salon_session` cookie's value (the same token the API takes).
    pub token: String,
    /// The CSRF token the pages carry.
    pub csrf: String,
    client: reqwest::Client,
}

/// The page with the one entity the templates' escaping writes in every path (`&#x2f;` for
/// `/`) decoded, so tests can look for `href="/app/clients"`.
fn readable(mut response: Response) -> Response {
    response.text = response.text.replace("&#x2f;", "/");
    response
}

/// A value of a `name="…" value="…"` pair in a page.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// The `name=value` of a `Set-Cookie` named `name`, with its attributes.
pub fn set_cookie<'r>(response: &'r Response, name: &str) -> Option<&'r str> {
    response
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("http client")
}

impl<'a> ConsoleUser<'a> {
    /// The console with an existing session token (from the API's login): the cookie is the
    /// same token, so this is what a browser that logged in holds.
    pub async fn with_token(app: &'a TestApp, token: &str) -> ConsoleUser<'a> {
        let mut user = ConsoleUser {
            app,
            token: token.to_owned(),
            csrf: String::new(),
            client: no_redirects(),
        };
        let page = user.get("/app/").await;
        assert_eq!(page.status, 200, "{}", page.text);
        user.csrf = input_value(&page.text, "csrf").expect("a CSRF token in the page");
        user
    }

    /// Log in through the form as a browser does; the user with the cookie it set.
    pub async fn log_in(app: &'a TestApp, email: &str, password: &str) -> ConsoleUser<'a> {
        let client = no_redirects();
        let form = app.send(client.get(app.url("/app/login"))).await;
        assert_eq!(form.status, 200, "{}", form.text);
        let form_token = input_value(&form.text, "csrf").expect("the login form's token");
        let cookie = set_cookie(&form, "salon_form")
            .expect("the form cookie")
            .split(';')
            .next()
            .expect("a name=value")
            .to_owned();
        let response = app
            .send(
                client
                    .post(app.url("/app/login"))
                    .header(header::COOKIE, cookie)
                    .header(header::ORIGIN, &app.base)
                    .form(&[
                        ("csrf", form_token.as_str()),
                        ("email", email),
                        ("password", password),
                        ("next", "/app/"),
                    ]),
            )
            .await;
        assert_eq!(response.status, 303, "{}", response.text);
        let session = set_cookie(&response, "salon_session").expect("a session cookie");
        let token = session
            .split(';')
            .next()
            .expect("a name=value")
            .trim_start_matches("salon_session=")
            .to_owned();
        ConsoleUser::with_token(app, &token).await
    }

    fn cookie(&self) -> String {
        format!("salon_session={}", self.token)
    }

    pub async fn get(&self, path: &str) -> Response {
        let response = self
            .app
            .send(
                self.client
                    .get(self.app.url(path))
                    .header(header::COOKIE, self.cookie()),
            )
            .await;
        readable(response)
    }

    /// What htmx sends as the staff member types (results only).
    pub async fn htmx_get(&self, path: &str) -> Response {
        let response = self
            .app
            .send(
                self.client
                    .get(self.app.url(path))
                    .header(header::COOKIE, self.cookie())
                    .header("HX-Request", "true")
                    .header("HX-Target", "results"),
            )
            .await;
        readable(response)
    }

    /// A form post from our own page, with its CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let mut form: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str())];
        form.extend_from_slice(fields);
        self.post_raw(path, &form, Some(&self.app.base)).await
    }

    /// A form post exactly as given (no token added), from `origin`.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)], origin: Option<&str>) -> Response {
        let mut request = self
            .client
            .post(self.app.url(path))
            .header(header::COOKIE, self.cookie())
            .form(fields);
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        readable(self.app.send(request).await)
    }
}
