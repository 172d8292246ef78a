//! `/console/submit`: one indicator (`submit_indicators`), or a whole
//! advert pasted in (`extract`): its candidates ([`crate::extract`], with
//! the node's region and allowlists) are listed with checkboxes, and the
//! chosen ones are published with the categories, confidence and TLP
//! given, each with its own outcome (stored, or refused with the reason;
//! an allowlisted value is refused naming the list).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::i18n::{Lang, Msg};
use super::layout::{self, Nav};
use super::{Console, Fail, Form, Req, User};
use crate::access::Operation;
use crate::extract::{ExtractOptions, extract as extract_text};
use crate::model::{Category, Kind, Tlp};
use crate::node::{NodeError, SubmitOptions, Submitted};
use crate::submission::{InputError, NewIndicator};

/// Most candidates published at once.
pub const MAX_CHOSEN: usize = 200;

/// Most characters of an advert read.
pub const MAX_ADVERT: usize = 100_000;

/// The categories, confidence and TLP fields shared by both forms.
fn marking_fields(lang: Lang, prefix: &str) -> Markup {
    html! {
        fieldset {
            legend { (Msg::Categories.text(lang)) }
            @for c in Category::ALL {
                label.check for={(prefix) "-cat-" (c.as_str())} {
                    input id={(prefix) "-cat-" (c.as_str())} type="checkbox" name="category" value=(c.as_str());
                    (c.as_str())
                }
                " "
            }
        }
        div.row {
            div.field {
                label for={(prefix) "-confidence"} { (Msg::Confidence.text(lang)) " (0-100)" }
                input id={(prefix) "-confidence"} type="number" name="confidence" min="0" max="100" value="70" required;
            }
            div.field {
                label for={(prefix) "-tlp"} { (Msg::Tlp.text(lang)) }
                select id={(prefix) "-tlp"} name="tlp" {
                    @for t in Tlp::ALL { option value=(t.as_str()) selected[*t == Tlp::Amber] { (t.label()) } }
                }
            }
        }
    }
}

fn forms(lang: Lang, user: &User) -> Markup {
    html! {
        div.grid {
            @if user.may(Operation::SubmitIndicators) {
                section.panel {
                    h2 { (Msg::SubmitOne.text(lang)) }
                    form.stack method="post" action="/console/submit" {
                        (layout::csrf(user))
                        div.field {
                            label for="one-kind" { (Msg::Kind.text(lang)) }
                            select #one-kind name="kind" { @for k in Kind::ALL { option value=(k.as_str()) { (k.as_str()) } } }
                        }
                        div.field {
                            label for="one-value" { (Msg::Value.text(lang)) }
                            input #one-value type="text" name="value" required autocomplete="off";
                        }
                        (marking_fields(lang, "one"))
                        div.field {
                            label for="one-description" { (Msg::Description.text(lang)) }
                            input #one-description type="text" name="description" maxlength="2000";
                        }
                        div { button type="submit" { (Msg::Submit.text(lang)) } }
                    }
                }
            }
            @if user.may(Operation::Extract) {
                section.panel {
                    h2 { (Msg::PasteAdvert.text(lang)) }
                    form.stack method="post" action="/console/submit/extract" {
                        (layout::csrf(user))
                        div.field {
                            label for="advert" { (Msg::AdvertText.text(lang)) }
                            textarea #advert name="text" required maxlength="100000" {}
                        }
                        div { button type="submit" { (Msg::Extract.text(lang)) } }
                    }
                }
            }
        }
    }
}

/// `GET /console/submit`.
///
/// # Errors
///
/// [`Fail`] without a session or the role's `submit_indicators`.
pub async fn page(State(c): State<Arc<Console>>, req: Req) -> Result<Response, Fail> {
    let user = c.user(&req, Operation::SubmitIndicators).await?;
    let content = forms(req.lang, &user);
    Ok(c.html(&req, StatusCode::OK, layout::page(&req, &user, Nav::Submit, content)))
}

/// One submission's outcome, for the results table.
struct Outcome {
    kind: String,
    value: String,
    stored: Result<String, InputError>,
}

fn markings(form: &Form) -> (Vec<Category>, u32, Option<Tlp>) {
    let categories = form.all("category").into_iter().filter_map(|c| c.parse().ok()).collect();
    let confidence = form.get("confidence").and_then(|c| c.trim().parse().ok()).unwrap_or(50);
    let tlp = form.get("tlp").and_then(|t| t.parse().ok());
    (categories, confidence, tlp)
}

async fn publish_all(c: &Console, req: &Req, user: &User, inputs: Vec<NewIndicator>) -> Result<Vec<Outcome>, Fail> {
    let shown: Vec<(String, String)> =
        inputs.iter().map(|i| (i.kind.map_or_else(String::new, |k| k.to_string()), i.value.clone())).collect();
    let opts = SubmitOptions { override_allowlist: false, skip_unchanged: false };
    let done = match c.node().submit_checked(inputs, &user.session.actor, opts).await {
        Ok(d) => d,
        Err(NodeError::Store(e)) => return Err(Fail::failed(req, &e)),
        Err(e) => return Err(Fail::failed(req, &e)),
    };
    Ok(done
        .into_iter()
        .zip(shown)
        .map(|(r, (kind, value))| Outcome {
            kind,
            value,
            stored: r.map(|s| match s {
                Submitted::Stored(rec) | Submitted::Unchanged(rec) => rec.value,
            }),
        })
        .collect())
}

fn results(lang: Lang, outcomes: &[Outcome]) -> Markup {
    html! {
        section.panel #results {
            h2 { (Msg::Results.text(lang)) }
            div.table-wrap { table.results {
                thead { tr {
                    th scope="col" { (Msg::Kind.text(lang)) }
                    th scope="col" { (Msg::Value.text(lang)) }
                    th scope="col" { (Msg::Status.text(lang)) }
                    th scope="col" { (Msg::Reason.text(lang)) }
                } }
                tbody { @for o in outcomes { tr {
                    td { (o.kind) }
                    @match &o.stored {
                        Ok(canonical) => {
                            td.value { a href={"/console/lookup?q=" (urlencode(canonical))} { (canonical) } }
                            td.outcome-stored { (Msg::Stored.text(lang)) }
                            td {}
                        }
                        Err(e) => {
                            td.value { (o.value) }
                            td.outcome-refused { (Msg::Refused.text(lang)) }
                            td.reason { (e.field) ": " (e.reason) }
                        }
                    }
                } } }
            } }
        }
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `POST /console/submit`: one indicator.
///
/// # Errors
///
/// [`Fail`] without a session, the role's `submit_indicators` or the CSRF
/// token.
pub async fn one(State(c): State<Arc<Console>>, req: Req, body: Bytes) -> Result<Response, Fail> {
    let user = c.user(&req, Operation::SubmitIndicators).await?;
    let form = c.form(&req, &user, &body)?;
    let (categories, confidence, tlp) = markings(&form);
    let input = NewIndicator {
        kind: form.get("kind").and_then(|k| k.parse().ok()),
        value: form.get("value").unwrap_or("").to_string(),
        categories,
        confidence,
        tlp,
        distribution: None,
        first_seen_ms: None,
        last_seen_ms: None,
        valid_until_ms: None,
        description: form.text("description"),
        source_refs: Vec::new(),
    };
    let outcomes = publish_all(&c, &req, &user, vec![input]).await?;
    let lang = req.lang;
    let content = html! { (results(lang, &outcomes)) (forms(lang, &user)) };
    Ok(c.html(&req, StatusCode::OK, layout::page(&req, &user, Nav::Submit, content)))
}

/// `POST /console/submit/extract`: the advert's candidates, to choose from.
///
/// # Errors
///
/// [`Fail`] without a session, the role's `extract` or the CSRF token.
pub async fn extract(State(c): State<Arc<Console>>, req: Req, body: Bytes) -> Result<Response, Fail> {
    let user = c.user(&req, Operation::Extract).await?;
    let form = c.form(&req, &user, &body)?;
    let lang = req.lang;
    let text: String = form.get("text").unwrap_or("").chars().take(MAX_ADVERT).collect();
    let node = c.node().clone();
    let extraction = super::blocking(&req, move || {
        let options = ExtractOptions::new(node.config().region.as_deref())?;
        let allowlist = |kind: Kind, value: &str| node.allowlisted(kind, value).map(|m| m.list);
        Ok::<_, crate::extract::ExtractError>(extract_text(&text, &options, &allowlist))
    })
    .await?;
    let publish = user.may(Operation::SubmitIndicators);
    let content = html! {
        section.panel #candidates {
            h2 { (Msg::Candidates.text(lang)) }
            @if extraction.candidates.is_empty() { p.muted { (Msg::NoCandidates.text(lang)) } } @else {
                form.stack method="post" action="/console/submit/publish" {
                    (layout::csrf(&user))
                    div.table-wrap { table.candidates {
                        thead { tr {
                            th scope="col" { (Msg::Publish.text(lang)) }
                            th scope="col" { (Msg::Kind.text(lang)) }
                            th scope="col" { (Msg::Value.text(lang)) }
                            th scope="col" { (Msg::AsWritten.text(lang)) }
                            th.num scope="col" { (Msg::Confidence.text(lang)) }
                            th scope="col" { (Msg::Notes.text(lang)) }
                        } }
                        tbody { @for (i, cand) in extraction.candidates.iter().enumerate().take(MAX_CHOSEN) { tr.candidate {
                            td {
                                input id={"pick-" (i)} type="checkbox" name="pick" value=(i) disabled[!publish];
                                label.sr-only for={"pick-" (i)} { (Msg::Publish.text(lang)) " " (cand.value) }
                                input type="hidden" name={"kind-" (i)} value=(cand.kind.as_str());
                                input type="hidden" name={"value-" (i)} value=(cand.value);
                            }
                            td { (cand.kind.as_str()) }
                            td.value { (cand.value) }
                            td.small { (cand.text) }
                            td.num { (cand.confidence) }
                            td.small { @for n in &cand.notes { span.tag { (n) } } }
                        } } }
                    } }
                    @if publish {
                        (marking_fields(lang, "pub"))
                        div { button type="submit" { (Msg::PublishChosen.text(lang)) } }
                    }
                }
            }
        }
        (forms(lang, &user))
    };
    Ok(c.html(&req, StatusCode::OK, layout::page(&req, &user, Nav::Submit, content)))
}

/// `POST /console/submit/publish`: the chosen candidates.
///
/// # Errors
///
/// [`Fail`] without a session, the role's `submit_indicators` or the CSRF
/// token.
pub async fn publish(State(c): State<Arc<Console>>, req: Req, body: Bytes) -> Result<Response, Fail> {
    let user = c.user(&req, Operation::SubmitIndicators).await?;
    let form = c.form(&req, &user, &body)?;
    let lang = req.lang;
    let (categories, confidence, tlp) = markings(&form);
    let mut picks: Vec<usize> = form.all("pick").into_iter().filter_map(|p| p.parse().ok()).collect();
    picks.sort_unstable();
    picks.dedup();
    picks.truncate(MAX_CHOSEN);
    let inputs: Vec<NewIndicator> = picks
        .iter()
        .filter_map(|i| {
            let value = form.get(&format!("value-{i}"))?.to_string();
            Some(NewIndicator {
                kind: form.get(&format!("kind-{i}")).and_then(|k| k.parse().ok()),
                value,
                categories: categories.clone(),
                confidence,
                tlp,
                distribution: None,
                first_seen_ms: None,
                last_seen_ms: None,
                valid_until_ms: None,
                description: None,
                source_refs: Vec::new(),
            })
        })
        .collect();
    let content = if inputs.is_empty() {
        html! { (layout::notice(Msg::NothingChosen.text(lang), false)) (forms(lang, &user)) }
    } else {
        let outcomes = publish_all(&c, &req, &user, inputs).await?;
        html! { (results(lang, &outcomes)) (forms(lang, &user)) }
    };
    Ok(c.html(&req, StatusCode::OK, layout::page(&req, &user, Nav::Submit, content)))
}
