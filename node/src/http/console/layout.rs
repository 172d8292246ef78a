//! The page shell and the pieces every page uses: navigation (only the
//! pages the role may open), the language switch, TLP badges in the TLP 2.0
//! colours, times, and the server-rendered SVG bar chart.
//!
//! No inline script or style: the Content-Security-Policy forbids both, so
//! everything visual is a class of `assets/console.css`, and the chart uses
//! SVG presentation attributes.

use maud::{DOCTYPE, Markup, html};

use super::i18n::{Lang, Msg};
use super::{PREFIX, User, asset_url};
use crate::access::Operation;
use crate::model::{Tlp, UnixMillis};

/// A page of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// `/console/`.
    Home,
    /// `/console/lookup`.
    Lookup,
    /// `/console/indicators`.
    Indicators,
    /// `/console/submit`.
    Submit,
    /// `/console/review`.
    Review,
    /// `/console/takedowns`.
    Takedowns,
    /// `/console/federation`.
    Federation,
    /// `/console/audit`.
    Audit,
}

impl Nav {
    /// Every page, in the navigation's order.
    pub const ALL: [Nav; 8] = [
        Nav::Home,
        Nav::Lookup,
        Nav::Indicators,
        Nav::Submit,
        Nav::Review,
        Nav::Takedowns,
        Nav::Federation,
        Nav::Audit,
    ];

    /// Its path.
    pub fn path(self) -> &'static str {
        match self {
            Nav::Home => "/console/",
            Nav::Lookup => "/console/lookup",
            Nav::Indicators => "/console/indicators",
            Nav::Submit => "/console/submit",
            Nav::Review => "/console/review",
            Nav::Takedowns => "/console/takedowns",
            Nav::Federation => "/console/federation",
            Nav::Audit => "/console/audit",
        }
    }

    /// Its title.
    pub fn title(self) -> Msg {
        match self {
            Nav::Home => Msg::Home,
            Nav::Lookup => Msg::Lookup,
            Nav::Indicators => Msg::Indicators,
            Nav::Submit => Msg::Submit,
            Nav::Review => Msg::Review,
            Nav::Takedowns => Msg::Takedowns,
            Nav::Federation => Msg::Federation,
            Nav::Audit => Msg::Audit,
        }
    }

    /// The operation opening it needs (the page answers 403 without it).
    pub fn operation(self) -> Operation {
        match self {
            Nav::Home => Operation::WhoAmI,
            Nav::Lookup => Operation::LookupValues,
            Nav::Indicators => Operation::ListIndicators,
            Nav::Submit => Operation::SubmitIndicators,
            Nav::Review => Operation::ListReview,
            Nav::Takedowns => Operation::ManageTakedowns,
            Nav::Federation => Operation::ReadStatus,
            Nav::Audit => Operation::ListAudit,
        }
    }
}

fn head(lang: Lang, title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"historyCacheSize":0}"#;
            title { (title) " · " (Msg::Console.text(lang)) }
            link rel="stylesheet" href=(asset_url("console.css"));
            script src=(asset_url("htmx.min.js")) defer {}
            script src=(asset_url("console.js")) defer {}
        }
    }
}

/// The language switch: links to this page in each language.
fn switch(lang: Lang, path: &str, query: &[(String, String)]) -> Markup {
    html! {
        nav.langs aria-label=(Msg::Language.text(lang)) {
            @for l in Lang::ALL {
                @let href = with_param(path, query, "lang", l.tag());
                @if l == lang {
                    a href=(href) lang=(l.tag()) aria-current="true" { (l.name()) }
                } @else {
                    a href=(href) lang=(l.tag()) hreflang=(l.tag()) { (l.name()) }
                }
            }
        }
    }
}

/// `path?query` with `name=value` set (replacing any previous one).
pub fn with_param(path: &str, query: &[(String, String)], name: &str, value: &str) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in query.iter().filter(|(k, _)| k != name) {
        q.append_pair(k, v);
    }
    q.append_pair(name, value);
    format!("{path}?{}", q.finish())
}

/// A page for a logged-in user.
pub fn page(req: &super::Req, user: &User, current: Nav, content: Markup) -> Markup {
    let lang = req.lang;
    let principal = &user.session.principal;
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            (head(lang, current.title().text(lang)))
            body {
                a.skip href="#main" { (Msg::SkipToContent.text(lang)) }
                header.top {
                    a.brand href={(PREFIX) "/"} { (Msg::Console.text(lang)) }
                    nav.main aria-label=(Msg::Navigation.text(lang)) {
                        ul {
                            @for n in Nav::ALL {
                                @if user.may(n.operation()) {
                                    li {
                                        @if n == current {
                                            a href=(n.path()) aria-current="page" { (n.title().text(lang)) }
                                        } @else {
                                            a href=(n.path()) { (n.title().text(lang)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    div.who {
                        span {
                            (Msg::SignedInAs.text(lang)) " "
                            strong.principal { (principal.name()) }
                            " (" (Msg::Role.text(lang)) ": " span.role { (principal.role().as_str()) } ", "
                            (Msg::TlpCeiling.text(lang)) ": " (tlp(principal.scope().max_tlp)) ")"
                        }
                        form.inline method="post" action={(PREFIX) "/logout"} {
                            input type="hidden" name="csrf" value=(user.csrf());
                            button type="submit" { (Msg::LogOut.text(lang)) }
                        }
                    }
                    @if req.get { (switch(lang, &req.path, &req.query)) } @else { (switch(lang, current.path(), &[])) }
                }
                main #main tabindex="-1" {
                    h1 { (current.title().text(lang)) }
                    (content)
                }
                footer { p.small { (Msg::TimesInUtc.text(lang)) } }
            }
        }
    }
}

/// A page without navigation (login, refusals).
pub fn bare(lang: Lang, title: Msg, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            (head(lang, title.text(lang)))
            body.bare {
                main #main {
                    p.brand { (Msg::Console.text(lang)) }
                    h1 { (title.text(lang)) }
                    (content)
                }
            }
        }
    }
}

/// A login page with the language switch.
pub fn login_page(req: &super::Req, content: Markup) -> Markup {
    let lang = req.lang;
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            (head(lang, Msg::LogIn.text(lang)))
            body.bare {
                header.top { (switch(lang, "/console/login", &[])) }
                main #main {
                    p.brand { (Msg::Console.text(lang)) }
                    h1 { (Msg::LogIn.text(lang)) }
                    (content)
                }
            }
        }
    }
}

/// The TLP 2.0 badge: the label in the official colour on black.
pub fn tlp(t: Tlp) -> Markup {
    let class = match t {
        Tlp::Clear => "tlp tlp-clear",
        Tlp::Green => "tlp tlp-green",
        Tlp::Amber => "tlp tlp-amber",
        Tlp::AmberStrict => "tlp tlp-amber-strict",
        Tlp::Red => "tlp tlp-red",
    };
    html! { span class=(class) { (t.label()) } }
}

/// A time: UTC with `+00:00` in the text, ISO 8601 in `datetime` (the
/// script shows it in the viewer's time zone).
pub fn time(ms: UnixMillis) -> Markup {
    if ms <= 0 {
        return html! { "—" };
    }
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    let iso = humantime::format_rfc3339_seconds(at).to_string();
    let shown = format!("{} +00:00", iso.trim_end_matches('Z').replacen('T', " ", 1));
    html! { time datetime=(iso) { (shown) } }
}

/// A duration in words: `3 d 4 h`, `5 h 2 min`, `40 s`.
pub fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// The hidden CSRF field of a form.
pub fn csrf(user: &User) -> Markup {
    html! { input type="hidden" name="csrf" value=(user.csrf()); }
}

/// A flash message (a form's outcome).
pub fn notice(text: &str, ok: bool) -> Markup {
    html! {
        @if ok { p.notice.ok role="status" { (text) } } @else { p.notice.bad role="alert" { (text) } }
    }
}

/// A vertical bar chart of `(label, value)` as inline SVG, with a table of
/// the same numbers for screen readers and text browsers.
pub fn bar_chart(title: &str, bars: &[(String, u64)]) -> Markup {
    let width = 560u64;
    let height = 180u64;
    let top = 16u64;
    let bottom = 28u64;
    let n = bars.len().max(1) as u64;
    let slot = width / n;
    let max = bars.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let plot = height - top - bottom;
    html! {
        figure.chart {
            svg viewBox={"0 0 " (width) " " (height)} role="img" aria-label=(title) xmlns="http://www.w3.org/2000/svg" {
                title { (title) }
                @for (i, (label, v)) in bars.iter().enumerate() {
                    @let h = v * plot / max;
                    @let y = top + plot - h;
                    @let cx = i as u64 * slot + slot / 2;
                    rect x=(i as u64 * slot + slot / 8) y=(y) width=(slot * 3 / 4) height=(h) fill="#2f5d8a" {
                        title { (label) ": " (v) }
                    }
                    text x=(cx) y=(y.saturating_sub(3).max(11)) text-anchor="middle" font-size="12" fill="#222" { (v) }
                    text x=(cx) y=(height - 8) text-anchor="middle" font-size="11" fill="#444" { (label) }
                }
            }
            figcaption { (title) }
            table.sr-only {
                tbody {
                    @for (label, v) in bars { tr { th scope="row" { (label) } td { (v) } } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_with_the_offset_shown() {
        let m = time(1_764_601_200_000).into_string();
        assert_eq!(m, r#"<time datetime="2025-12-01T15:00:00Z">2025-12-01 15:00:00 +00:00</time>"#);
        assert_eq!(time(0).into_string(), "—");
    }

    #[test]
    fn tlp_badges_carry_the_tlp_2_label_and_class() {
        assert_eq!(
            tlp(Tlp::AmberStrict).into_string(),
            r#"<span class="tlp tlp-amber-strict">TLP:AMBER+STRICT</span>"#
        );
        assert_eq!(tlp(Tlp::Clear).into_string(), r#"<span class="tlp tlp-clear">TLP:CLEAR</span>"#);
    }

    #[test]
    fn the_chart_escapes_its_labels_and_scales_to_the_largest_bar() {
        let m = bar_chart("t", &[("<b>".into(), 10), ("x".into(), 5)]).into_string();
        assert!(m.contains("&lt;b&gt;"), "{m}");
        assert!(!m.contains("<b>"), "{m}");
        assert!(m.contains(r#"height="136""#), "the largest bar fills the plot: {m}");
        assert!(m.contains(r#"height="68""#), "{m}");
    }

    #[test]
    fn the_language_switch_keeps_the_query() {
        let q = vec![("q".to_string(), "0812 3456".to_string()), ("lang".to_string(), "en".to_string())];
        assert_eq!(with_param("/console/lookup", &q, "lang", "vi"), "/console/lookup?q=0812+3456&lang=vi");
    }

    #[test]
    fn durations_read_in_the_largest_units() {
        assert_eq!(duration(40_000), "40 s");
        assert_eq!(duration(5 * 60_000), "5 min");
        assert_eq!(duration(2 * 3_600_000 + 60_000), "2 h 1 min");
        assert_eq!(duration(3 * 86_400_000 + 4 * 3_600_000), "3 d 4 h");
        assert_eq!(duration(-5), "0 s");
    }
}
