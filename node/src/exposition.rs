//! The two text formats of `/metrics`, and which one a scraper asked for.
//!
//! [`crate::metrics`] renders OpenMetrics 1.0 text. Prometheus servers
//! prefer it, but `promtool check metrics`, older scrapers and many agents
//! read only the Prometheus text format 0.0.4, and ask for it with
//! `Accept: text/plain;version=0.0.4`. [`negotiate`] picks the format from
//! the `Accept` header (q-values honoured; OpenMetrics when nothing says
//! otherwise) and [`to_prometheus_text`] converts the rendering.
//!
//! The formats differ, for what the node exposes, in three ways: a
//! counter family is named without `_total` in OpenMetrics (`# TYPE
//! jaring_envelopes_sent counter`, samples `jaring_envelopes_sent_total`)
//! and with it in 0.0.4; 0.0.4 has no `# UNIT` lines; and no `# EOF`.
//! Histograms, gauges, label syntax and escaping are the same.

/// The OpenMetrics content type.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The Prometheus text format 0.0.4 content type.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metrics text format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0.0.
    OpenMetrics,
    /// Prometheus text exposition 0.0.4.
    PrometheusText,
}

impl Format {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => OPENMETRICS,
            Format::PrometheusText => PROMETHEUS_TEXT,
        }
    }
}

/// One media range of an `Accept` header: (type/subtype, parameters, q).
fn media_ranges(accept: &str) -> impl Iterator<Item = (String, Vec<(String, String)>, f32)> + '_ {
    accept.split(',').filter_map(|range| {
        let mut parts = range.split(';');
        let media = parts.next()?.trim().to_ascii_lowercase();
        if media.is_empty() {
            return None;
        }
        let mut q = 1.0f32;
        let mut params = Vec::new();
        for p in parts {
            let Some((k, v)) = p.split_once('=') else { continue };
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_ascii_lowercase());
            if k == "q" {
                q = v.parse().unwrap_or(0.0);
            } else {
                params.push((k, v));
            }
        }
        Some((media, params, q))
    })
}

/// The format a scraper asked for: Prometheus text when `text/plain` is
/// preferred (a higher q-value than any range OpenMetrics matches, or the
/// only one given), OpenMetrics otherwise, including without `Accept`.
pub fn negotiate(accept: Option<&str>) -> Format {
    let Some(accept) = accept else { return Format::OpenMetrics };
    let (mut openmetrics, mut text) = (None::<f32>, None::<f32>);
    for (media, params, q) in media_ranges(accept) {
        let version = params.iter().find(|(k, _)| k == "version").map(|(_, v)| v.as_str());
        let best = |slot: &mut Option<f32>| *slot = Some(slot.map_or(q, |s| s.max(q)));
        match media.as_str() {
            "application/openmetrics-text" if version.is_none_or(|v| v.starts_with("1.0") || v == "0.0.1") => {
                best(&mut openmetrics)
            }
            "text/plain" if version.is_none_or(|v| v == "0.0.4") => best(&mut text),
            "*/*" | "application/*" if openmetrics.is_none() => openmetrics = Some(q),
            _ => {}
        }
    }
    match (openmetrics, text) {
        (om, Some(t)) if t > 0.0 && om.is_none_or(|o| t > o) => Format::PrometheusText,
        _ => Format::OpenMetrics,
    }
}

/// Converts OpenMetrics text (as [`crate::metrics::render`] writes it) to
/// the Prometheus text format 0.0.4.
pub fn to_prometheus_text(openmetrics: &str) -> String {
    let mut counters = std::collections::HashSet::new();
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ")
            && let Some((name, "counter")) = rest.split_once(' ')
        {
            counters.insert(name.to_string());
        }
    }
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = line
            .strip_prefix("# HELP ")
            .map(|r| ("# HELP ", r))
            .or_else(|| line.strip_prefix("# TYPE ").map(|r| ("# TYPE ", r)));
        match meta {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let renamed = if counters.contains(name) { format!("{name}_total") } else { name.to_string() };
                out.push_str(prefix);
                out.push_str(&renamed);
                out.push(' ');
                out.push_str(tail);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_pick_the_format() {
        use Format::*;
        for (accept, want) in [
            (None, OpenMetrics),
            (Some("*/*"), OpenMetrics),
            (Some("text/plain;version=0.0.4"), PrometheusText),
            (Some("text/plain"), PrometheusText),
            (Some("text/plain; version=0.0.4; charset=utf-8"), PrometheusText),
            (Some("application/openmetrics-text"), OpenMetrics),
            // What Prometheus 2.x sends: OpenMetrics preferred.
            (
                Some(
                    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                ),
                OpenMetrics,
            ),
            // A scraper that prefers text.
            (Some("text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5"), PrometheusText),
            (Some("text/plain;version=0.0.4, */*;q=0.1"), PrometheusText),
            (Some("text/plain;q=0"), OpenMetrics),
            (Some("text/html"), OpenMetrics),
        ] {
            assert_eq!(negotiate(accept), want, "{accept:?}");
        }
    }

    #[test]
    fn counters_get_total_in_their_family_names_and_eof_goes() {
        let om = "# HELP jaring_envelopes_sent Envelopes sent to each peer.\n\
                  # TYPE jaring_envelopes_sent counter\n\
                  jaring_envelopes_sent_total{peer=\"VN\"} 2\n\
                  # HELP jaring_store_bytes Size of the store on disk.\n\
                  # TYPE jaring_store_bytes gauge\n\
                  # UNIT jaring_store_bytes bytes\n\
                  jaring_store_bytes 4096\n\
                  # EOF\n";
        assert_eq!(
            to_prometheus_text(om),
            "# HELP jaring_envelopes_sent_total Envelopes sent to each peer.\n\
             # TYPE jaring_envelopes_sent_total counter\n\
             jaring_envelopes_sent_total{peer=\"VN\"} 2\n\
             # HELP jaring_store_bytes Size of the store on disk.\n\
             # TYPE jaring_store_bytes gauge\n\
             jaring_store_bytes 4096\n"
        );
    }
}
