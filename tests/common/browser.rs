//! A minimal browser without JavaScript over reqwest: a cookie jar, no automatic
//! redirects (each hop is checked), and form submission as a browser does it (the
//! form's hidden, text and checked inputs plus the pressed button).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

pub struct Browser {
    client: reqwest::blocking::Client,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Page {
    /// The value of `<input name="csrf" value="…">`.
    pub fn csrf(&self) -> String {
        attr_after(&self.body, "name=\"csrf\"", "value").expect("a csrf field")
    }
}

/// The value of attribute `attr` in the tag containing `marker`.
fn attr_after(html: &str, marker: &str, attr: &str) -> Option<String> {
    let at = html.find(marker)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    attr_of(&html[start..=end], attr)
}

fn attr_of(tag: &str, attr: &str) -> Option<String> {
    let key = format!("{attr}=\"");
    let i = tag.find(&key)? + key.len();
    let j = tag[i..].find('"')? + i;
    Some(unescape(&tag[i..j]))
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The fields a browser would submit from the first form of `html` whose action
/// contains `action`: hidden and text inputs, checked checkboxes; `button` is the
/// `(name, value)` of the pressed button, if it has a name.
pub fn form_fields(html: &str, action: &str) -> (String, Vec<(String, String)>) {
    let form_at = html
        .match_indices("<form")
        .map(|(i, _)| i)
        .find(|i| {
            let tag_end = html[*i..].find('>').unwrap() + i;
            html[*i..tag_end].contains(action)
        })
        .unwrap_or_else(|| panic!("no form with action {action} in:\n{html}"));
    let form_end = html[form_at..].find("</form>").unwrap() + form_at;
    let form = &html[form_at..form_end];
    let form_tag = &form[..form.find('>').unwrap()];
    let target = attr_of(form_tag, "action").unwrap();
    let mut fields = Vec::new();
    for (i, _) in form.match_indices("<input") {
        let tag = &form[i..i + form[i..].find('>').unwrap()];
        let kind = attr_of(tag, "type").unwrap_or_else(|| "text".into());
        let Some(name) = attr_of(tag, "name") else {
            continue;
        };
        let value = attr_of(tag, "value").unwrap_or_default();
        match kind.as_str() {
            "checkbox" | "radio" if !tag.contains(" checked") => {}
            _ => fields.push((name, value)),
        }
    }
    (target, fields)
}

impl Browser {
    pub fn new() -> Self {
        Self {
            client: reqwest::blocking::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    fn page(res: reqwest::blocking::Response) -> Page {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let location = headers
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        Page {
            status,
            location,
            body: res.text().unwrap(),
            headers,
        }
    }

    pub fn get(&self, url: &str) -> Page {
        Self::page(self.client.get(url).send().unwrap())
    }

    pub fn post(&self, url: &str, fields: &[(String, String)]) -> Page {
        Self::page(self.client.post(url).form(fields).send().unwrap())
    }

    /// Submit the form of `page` (at `page_url`) whose action contains `action`,
    /// with checkboxes named `name` set to exactly `checked` when given, pressing
    /// `button`.
    pub fn submit(
        &self,
        page_url: &str,
        page: &Page,
        action: &str,
        checked: Option<(&str, &[&str])>,
        button: Option<(&str, &str)>,
    ) -> Page {
        let (target, mut fields) = form_fields(&page.body, action);
        if let Some((name, values)) = checked {
            fields.retain(|(n, _)| n != name);
            fields.extend(values.iter().map(|v| (name.to_owned(), (*v).to_owned())));
        }
        if let Some((n, v)) = button {
            fields.push((n.to_owned(), v.to_owned()));
        }
        let url = url::Url::parse(page_url).unwrap().join(&target).unwrap();
        self.post(url.as_str(), &fields)
    }

    /// Follow a redirect from `page` (relative locations resolve against `base`).
    pub fn follow(&self, base: &str, page: &Page) -> (String, Page) {
        let location = page
            .location
            .clone()
            .unwrap_or_else(|| panic!("expected a redirect, got {}:\n{}", page.status, page.body));
        let url = url::Url::parse(base)
            .unwrap()
            .join(&location)
            .unwrap()
            .to_string();
        let next = self.get(&url);
        (url, next)
    }
}
