//! The sandbox's HTML: the approve/deny page and the page for a refused request.
//!
//! Policy: every echoed value is HTML-escaped; no JavaScript; one form that works
//! with a keyboard and a screen reader (labels, a fieldset with a legend). Element
//! ids are stable (`sandbox-user`, `scope-{name}`, `approve`, `deny`) for browser
//! tests. The form posts to the relative `authorize`, so the page works under any
//! prefix.

use super::authorize::AuthRequest;
use super::twin::Twin;
use std::fmt::Write as _;

/// The sandbox user the page suggests.
pub(crate) const DEFAULT_USER: &str = "sandbox-user-1";

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;\
padding:0 1rem;line-height:1.5}fieldset{margin:1rem 0}label{margin-left:.25rem}\
input[type=text]{font-size:1rem;padding:.25rem}button{font-size:1rem;padding:.5rem 1.25rem;\
margin-right:.75rem}.note{color:#555}";

/// `&`, `<`, `>`, `"` and `'` as entities.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn document(title: &str, main: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         <h1>{title}</h1>\n{main}</main>\n</body>\n</html>\n",
        title = escape(title),
    )
}

/// The approve/deny page for a checked authorization request.
pub(crate) fn authorize(twin: &dyn Twin, req: &AuthRequest) -> String {
    let mut main = String::new();
    let _ = write!(
        main,
        "<p class=\"note\">A simulated vendor (the Tributary sandbox): no real account or \
         health data is involved.</p>\n\
         <p>The app <strong>{client}</strong> asks for access to your {vendor} data:</p>\n\
         <form method=\"post\" action=\"authorize\">\n",
        client = escape(&req.client_id),
        vendor = escape(twin.display_name()),
    );
    let hidden = [
        ("response_type", "code"),
        ("client_id", req.client_id.as_str()),
        ("redirect_uri", req.redirect_uri.as_str()),
        ("requested_scope", &req.scopes.join(" ")),
        ("state", req.state.as_str()),
        ("code_challenge", req.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in hidden {
        let _ = writeln!(
            main,
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            escape(value)
        );
    }
    let _ = write!(
        main,
        "<p><label for=\"sandbox-user\">Sandbox user</label><br>\n\
         <input type=\"text\" id=\"sandbox-user\" name=\"sandbox_user\" value=\"{DEFAULT_USER}\" \
         required maxlength=\"64\" autocomplete=\"off\" aria-describedby=\"sandbox-user-help\"></p>\n\
         <p id=\"sandbox-user-help\" class=\"note\">Each sandbox user has their own generated \
         data and time zone.</p>\n\
         <fieldset>\n<legend>Share</legend>\n"
    );
    for name in &req.scopes {
        let description = twin
            .scopes()
            .iter()
            .find(|s| s.name == name)
            .map_or("", |s| s.description);
        let _ = writeln!(
            main,
            "<div><input type=\"checkbox\" id=\"scope-{n}\" name=\"scope\" value=\"{n}\" checked>\
             <label for=\"scope-{n}\"><code>{n}</code>: {d}</label></div>",
            n = escape(name),
            d = escape(description),
        );
    }
    main.push_str(
        "</fieldset>\n\
         <button type=\"submit\" id=\"approve\" name=\"decision\" value=\"approve\">Approve</button>\n\
         <button type=\"submit\" id=\"deny\" name=\"decision\" value=\"deny\">Deny</button>\n\
         </form>\n",
    );
    document(&format!("{} — authorize", twin.display_name()), &main)
}

/// The page for a request that cannot be answered with a redirect.
pub(crate) fn refused(twin: &dyn Twin, param: &str, problem: &str) -> String {
    let main = format!(
        "<p>This authorization request is not valid, so you are not sent back to the app.</p>\n\
         <p id=\"problem\">Parameter <code>{}</code>: {}</p>\n",
        escape(param),
        escape(problem),
    );
    document(&format!("{} — request refused", twin.display_name()), &main)
}
