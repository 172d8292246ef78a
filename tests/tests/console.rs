//! The analyst console (issue 19) in a real browser: headless Chromium
//! driven through chromedriver (Debian's `chromium` and `chromium-driver`,
//! installed by `.ci/setup-browser.sh`) against two real nodes, ID and VN,
//! peered with [`link`].
//!
//! An analyst of ID logs in, looks a national-form phone number up and
//! sees both countries' assertions side by side, pastes an advert and
//! publishes two of its candidates, accepts an entry held for review,
//! requests a takedown and finds it on the board. A platform token cannot
//! open the audit page (403); a POST without the CSRF token is refused
//! (403); the lookup works with JavaScript disabled. Every page is saved as
//! a screenshot (Indonesian and Vietnamese ones too) under
//! `target/console-screenshots/`.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use jaring_tests::https::{self, Response};
use jaring_tests::{TestNode, assert_eventually, free_port, link};
use serde_json::json;

const PATIENCE: Duration = Duration::from_secs(30);

/// The phone number VN and ID both list, in VN's international form and
/// ID's national one.
const PHONE_VN_FORM: &str = "+62 812-3456-7890";
const PHONE_NATIONAL: &str = "0812-3456-7890";
const PHONE: &str = "+6281234567890";
/// A domain ID's local allowlist holds for review when VN publishes it.
const HELD: &str = "kominfo-hotline-palsu.co.id";

const ADVERT: &str = "LOWONGAN KERJA di Kamboja! Gaji 15 juta. Hubungi WA 0813-9999-8888 \
                      atau daftar di hxxps://loker-cepat-kerja[.]com/daftar sekarang";

/// A chromedriver on a loopback port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> Result<Driver> {
    let found = Command::new("chromedriver").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    if !found.is_ok_and(|s| s.success()) {
        bail!(
            "chromedriver is missing: the console's browser tests need Debian's chromium and chromium-driver; \
             run .ci/setup-browser.sh (apt-get install -y chromium chromium-driver)"
        );
    }
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting chromedriver")?;
    let driver = Driver { child, port };
    assert_eventually!(PATIENCE, TcpStream::connect(("127.0.0.1", port)).is_ok(), "chromedriver never listened");
    Ok(driver)
}

/// A headless Chromium session (scripts on or off), 1280 px wide.
async fn browser(driver: &Driver, scripts: bool) -> Result<Client> {
    let mut args = vec![
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--ignore-certificate-errors",
        "--window-size=1280,1000",
        "--lang=en-US",
    ];
    if !scripts {
        args.push("--blink-settings=scriptEnabled=false");
    }
    let mut caps = serde_json::Map::new();
    caps.insert("acceptInsecureCerts".into(), json!(true));
    caps.insert("goog:chromeOptions".into(), json!({ "args": args }));
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .context("a chromedriver session")
}

/// Where screenshots go: `target/console-screenshots/`.
fn shots_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    // target/debug/deps/console-<hash>
    let target = exe.ancestors().nth(3).context("the target directory")?.to_path_buf();
    let dir = target.join("console-screenshots");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

async fn shot(c: &Client, name: &str) -> Result<()> {
    let png = c.screenshot().await?;
    std::fs::write(shots_dir()?.join(format!("{name}.png")), png)?;
    Ok(())
}

fn base(node: &TestNode) -> Result<String> {
    Ok(format!("https://127.0.0.1:{}", node.http_port.context("no HTTPS listener")?))
}

async fn login(c: &Client, node: &TestNode, token: &str) -> Result<()> {
    c.goto(&format!("{}/console/login", base(node)?)).await?;
    c.find(Locator::Css("#token")).await?.send_keys(token).await?;
    c.find(Locator::Css("form button[type=submit]")).await?.click().await?;
    c.wait().at_most(PATIENCE).for_element(Locator::Css("nav.main")).await?;
    Ok(())
}

async fn logout(c: &Client) -> Result<()> {
    c.find(Locator::Css("header form.inline button")).await?.click().await?;
    c.wait().at_most(PATIENCE).for_element(Locator::Css("#token")).await?;
    Ok(())
}

async fn body_text(c: &Client) -> Result<String> {
    Ok(c.find(Locator::Css("body")).await?.text().await?)
}

/// The origins in the lookup page's assertion tables.
async fn origins_shown(c: &Client) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for row in c.find_all(Locator::Css("table.assertions tr.assertion")).await? {
        out.push(row.attr("data-origin").await?.unwrap_or_default());
    }
    out.sort();
    Ok(out)
}

/// The `Set-Cookie` value of `name` in a response.
fn set_cookie(r: &Response, name: &str) -> Option<String> {
    r.headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .filter_map(|(_, v)| v.split(';').next()?.trim().strip_prefix(&format!("{name}=")).map(str::to_string))
        .find(|v| !v.is_empty())
}

/// The value of the first hidden `csrf` field of a page.
fn csrf_of(html: &str) -> Option<String> {
    let at = html.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    Some(html[at..].split('"').next()?.to_string())
}

fn form_post(node: &TestNode, path: &str, cookie: &str, body: &str) -> Result<Response> {
    https::request(
        node,
        "POST",
        path,
        &[("Cookie", cookie), ("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
}

/// Logs in with the tests' HTTPS client: the session cookie.
fn https_login(node: &TestNode, token: &str) -> Result<String> {
    let form = https::get(node, "/console/login", None)?;
    assert_eq!(form.status, 200, "{}", form.text());
    let nonce = set_cookie(&form, "jaring_login").context("the login cookie")?;
    let csrf = csrf_of(&form.text()).context("the login form's token")?;
    assert_eq!(nonce, csrf);
    let body = url_form(&[("csrf", &csrf), ("token", token)]);
    let r = form_post(node, "/console/login", &format!("jaring_login={nonce}"), &body)?;
    assert_eq!(r.status, 303, "{}", r.text());
    let session = set_cookie(&r, "jaring_session").context("the session cookie")?;
    Ok(format!("jaring_session={session}"))
}

fn url_form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let v: String = v
                .bytes()
                .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
                .collect();
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn get_as(node: &TestNode, path: &str, cookie: &str) -> Result<Response> {
    https::request(node, "GET", path, &[("Cookie", cookie)], &[])
}

fn add(node: &TestNode, kind: &str, value: &str, category: &str) -> Result<()> {
    node.cli(&[
        "indicator",
        "add",
        "--kind",
        kind,
        "--value",
        value,
        "--category",
        category,
        "--tlp",
        "green",
        "--confidence",
        "80",
    ])
    .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_works_the_console_in_a_real_browser() -> Result<()> {
    let driver = chromedriver()?;
    let id = TestNode::builder("ID").region("ID").http().start()?;
    let vn = TestNode::builder("VN").region("VN").http().start()?;
    link(&id, &vn, &[], &[])?;
    // ID holds for review whatever its local allowlist names.
    id.cli(&["allowlist", "add", "hotlines", "--kind", "domain", HELD])?;
    add(&vn, "phone", PHONE_VN_FORM, "trafficking_recruitment")?;
    add(&id, "phone", PHONE_NATIONAL, "job_scam")?;
    add(&vn, "domain", HELD, "phishing")?;
    let both = || -> Result<bool> {
        let mut o = id.origins_of(PHONE, "phone")?;
        o.sort();
        Ok(o == ["ID", "VN"])
    };
    assert_eventually!(PATIENCE, both()?, "ID never held VN's assertion about the phone number");
    assert_eventually!(
        PATIENCE,
        !id.cli_json(&["review", "list"])?.as_array().is_none_or(Vec::is_empty),
        "VN's domain was never held for review"
    );
    assert!(!id.lookup_found(HELD)?, "held for review, not served");

    let analyst = id.create_token("analyst-siti", &["--role", "analyst"])?;
    let platform = id.create_token("meta", &["--role", "platform", "--platform", "meta", "--max-tlp", "green"])?;
    let root = base(&id)?;

    let c = browser(&driver, true).await?;
    let outcome = async {
        // Login, home.
        c.goto(&format!("{root}/console/")).await?;
        c.wait().at_most(PATIENCE).for_element(Locator::Css("#token")).await?;
        shot(&c, "login").await?;
        login(&c, &id, &analyst).await?;
        let home = body_text(&c).await?;
        assert!(home.contains("analyst-siti"), "{home}");
        assert!(!home.contains("Audit log"), "an analyst's navigation has no audit page: {home}");
        shot(&c, "home").await?;
        c.goto(&format!("{root}/console/?lang=id")).await?;
        assert!(body_text(&c).await?.contains("Beranda"));
        shot(&c, "home-id").await?;
        c.goto(&format!("{root}/console/?lang=vi")).await?;
        assert!(body_text(&c).await?.contains("Trang chủ"));
        shot(&c, "home-vi").await?;
        c.goto(&format!("{root}/console/?lang=en")).await?;

        // Lookup: the national form, both countries side by side (htmx swap).
        c.goto(&format!("{root}/console/lookup")).await?;
        // A mark on the page survives only an in-place update.
        c.execute("window.jaringMark = 1; return null;", vec![]).await?;
        c.find(Locator::Css("#q")).await?.send_keys(PHONE_NATIONAL).await?;
        c.find(Locator::Css("form.lookup-box button")).await?.click().await?;
        c.wait().at_most(PATIENCE).for_element(Locator::Css("table.assertions")).await?;
        assert_eq!(origins_shown(&c).await?, ["ID", "VN"]);
        let mark = c.execute("return window.jaringMark === 1;", vec![]).await?;
        assert_eq!(mark, json!(true), "with scripts on, htmx swapped the result in place");
        assert!(c.current_url().await?.as_str().contains("q=0812"), "and pushed the lookup's URL");
        let text = body_text(&c).await?;
        assert!(text.contains("trafficking_recruitment") && text.contains("job_scam"), "{text}");
        assert!(text.contains("TLP:GREEN"), "{text}");
        shot(&c, "lookup").await?;

        // Takedown from the lookup page, then the board.
        c.find(Locator::Css("form.takedown input[name=platform]")).await?.send_keys("meta").await?;
        c.find(Locator::Css("form.takedown button")).await?.click().await?;
        c.wait().at_most(PATIENCE).for_element(Locator::Css("p.notice.ok")).await?;
        assert!(body_text(&c).await?.contains("Takedown requested."));
        c.goto(&format!("{root}/console/takedowns")).await?;
        let board = c.find(Locator::Css("section.board[data-state=requested]")).await?.text().await?;
        assert!(board.contains("meta") && board.contains(PHONE), "{board}");
        shot(&c, "takedowns").await?;

        // The advert: extract, choose two, publish.
        c.goto(&format!("{root}/console/submit")).await?;
        c.find(Locator::Css("#advert")).await?.send_keys(ADVERT).await?;
        c.find(Locator::Css("form[action='/console/submit/extract'] button")).await?.click().await?;
        c.wait().at_most(PATIENCE).for_element(Locator::Css("table.candidates")).await?;
        let candidates = c.find_all(Locator::Css("tr.candidate")).await?;
        assert!(candidates.len() >= 2, "{}", body_text(&c).await?);
        shot(&c, "submit-candidates").await?;
        c.find(Locator::Css("#pick-0")).await?.click().await?;
        c.find(Locator::Css("#pick-1")).await?.click().await?;
        c.find(Locator::Css("#pub-cat-job_scam")).await?.click().await?;
        c.find(Locator::Css("form[action='/console/submit/publish'] button[type=submit]")).await?.click().await?;
        c.wait().at_most(PATIENCE).for_element(Locator::Css("table.results")).await?;
        let stored = c.find_all(Locator::Css("table.results td.outcome-stored")).await?;
        assert_eq!(stored.len(), 2, "{}", body_text(&c).await?);
        shot(&c, "submit-results").await?;
        assert!(id.lookup_found("+6281399998888")?, "the advert's phone number was published");

        // Review: accept the held entry.
        c.goto(&format!("{root}/console/review")).await?;
        let queue = body_text(&c).await?;
        assert!(queue.contains(HELD), "{queue}");
        shot(&c, "review").await?;
        c.find(Locator::Css("table.review button[value=accept]")).await?.click().await?;
        c.wait().at_most(PATIENCE).for_element(Locator::Css("p.notice.ok")).await?;
        assert!(!body_text(&c).await?.contains(HELD));
        assert!(id.lookup_found(HELD)?, "accepted: now served");

        // The other pages, for the screenshots.
        c.goto(&format!("{root}/console/indicators")).await?;
        c.find(Locator::Css("table.indicators")).await?;
        shot(&c, "indicators").await?;
        c.find(Locator::Css("table.indicators a.value")).await?.click().await?;
        let detail = c.find(Locator::Css("dd.signature")).await?.text().await?;
        assert!(detail.contains("verified"), "{detail}");
        shot(&c, "indicator-detail").await?;
        c.goto(&format!("{root}/console/federation")).await?;
        assert!(body_text(&c).await?.contains("VN"));
        shot(&c, "federation").await?;
        c.goto(&format!("{root}/console/lookup?q={}&lang=vi", PHONE.replace('+', "%2B"))).await?;
        assert!(body_text(&c).await?.contains("Khẳng định theo nguồn"));
        shot(&c, "lookup-vi").await?;
        c.goto(&format!("{root}/console/lookup?q={}&lang=id", PHONE.replace('+', "%2B"))).await?;
        assert!(body_text(&c).await?.contains("Pernyataan per asal"));
        shot(&c, "lookup-id").await?;
        c.set_window_size(390, 844).await?;
        shot(&c, "lookup-phone-390px").await?;
        c.set_window_size(1280, 1000).await?;
        c.goto(&format!("{root}/console/?lang=en")).await?;
        logout(&c).await?;

        // The audit page, for the admin.
        let admin = std::fs::read_to_string(id.dir().join("admin.token"))?.trim().to_string();
        login(&c, &id, &admin).await?;
        c.goto(&format!("{root}/console/audit")).await?;
        c.find(Locator::Css("#verify")).await?.click().await?;
        c.wait().at_most(PATIENCE).for_element(Locator::Css("#chain")).await?;
        let audit = body_text(&c).await?;
        assert!(audit.contains("The audit chain verifies"), "{audit}");
        assert!(audit.contains("console.login"), "logins are audited: {audit}");
        shot(&c, "audit").await?;
        logout(&c).await?;

        // A platform token: no audit page.
        login(&c, &id, &platform).await?;
        assert!(!body_text(&c).await?.contains("Audit log"));
        c.goto(&format!("{root}/console/audit")).await?;
        assert!(body_text(&c).await?.contains("Your role may not open this page."));
        shot(&c, "audit-refused-platform").await?;
        anyhow::Ok(())
    }
    .await;
    c.close().await?;
    outcome?;

    // The same refusals, status codes read with the tests' HTTPS client.
    let as_platform = https_login(&id, &platform)?;
    assert_eq!(get_as(&id, "/console/audit", &as_platform)?.status, 403);
    assert_eq!(get_as(&id, "/console/lookup", &as_platform)?.status, 200);
    let as_analyst = https_login(&id, &analyst)?;
    let page = get_as(&id, "/console/review", &as_analyst)?;
    assert_eq!(page.status, 200);
    for (name, value) in [
        ("content-security-policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(page.header(name), Some(value), "{name}");
    }
    let csrf = csrf_of(&page.text()).context("a form on the page")?;
    // Values are escaped wherever they are shown.
    let hostile = get_as(&id, "/console/lookup?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", &as_analyst)?;
    assert_eq!(hostile.status, 200);
    assert!(!hostile.text().contains("<script>alert"), "{}", hostile.text());
    assert!(hostile.text().contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // The language: Accept-Language, then the switch, remembered in a cookie.
    let vi = https::request(&id, "GET", "/console/login", &[("Accept-Language", "vi-VN,vi;q=0.9,en;q=0.5")], &[])?;
    assert!(vi.text().contains("Đăng nhập") && vi.text().contains(r#"<html lang="vi">"#));
    let switched = get_as(&id, "/console/lookup?lang=id", &as_analyst)?;
    assert!(switched.text().contains("Pencarian"));
    assert_eq!(set_cookie(&switched, "jaring_lang").as_deref(), Some("id"));
    // Column heads are in the page's language too.
    let federation = get_as(&id, "/console/federation?lang=vi", &as_analyst)?;
    assert_eq!(federation.status, 200);
    assert!(federation.text().contains("Con trỏ / đầu nhật ký"), "{}", federation.text());
    assert!(!federation.text().contains("cursor / head"), "{}", federation.text());
    let no_csrf = form_post(
        &id,
        "/console/lookup/takedown",
        &as_analyst,
        &url_form(&[("value", PHONE), ("platform", "tiktok")]),
    )?;
    assert_eq!(no_csrf.status, 403, "{}", no_csrf.text());
    let bad_csrf = form_post(
        &id,
        "/console/lookup/takedown",
        &as_analyst,
        &url_form(&[("csrf", &"0".repeat(64)), ("value", PHONE), ("platform", "tiktok")]),
    )?;
    assert_eq!(bad_csrf.status, 403);
    let with_csrf = form_post(
        &id,
        "/console/lookup/takedown",
        &as_analyst,
        &url_form(&[("csrf", &csrf), ("value", PHONE), ("platform", "tiktok")]),
    )?;
    assert_eq!(with_csrf.status, 303, "the same request with the token passes: {}", with_csrf.text());
    let login_no_csrf = form_post(&id, "/console/login", "", &url_form(&[("token", &analyst)]))?;
    assert_eq!(login_no_csrf.status, 403);
    // Logout ends the session on the server.
    let out = form_post(&id, "/console/logout", &as_analyst, &url_form(&[("csrf", &csrf)]))?;
    assert_eq!(out.status, 303);
    assert_eq!(get_as(&id, "/console/review", &as_analyst)?.status, 303, "the old cookie is not a session any more");
    // A revoked token ends its sessions.
    id.cli(&["token", "revoke", "meta", "--reason", "test"])?;
    let r = get_as(&id, "/console/lookup", &as_platform)?;
    assert_eq!((r.status, r.header("location")), (303, Some("/console/login")));

    // Scripts off: the lookup is a plain form.
    let plain = browser(&driver, false).await?;
    let outcome = async {
        login(&plain, &id, &analyst).await?;
        plain.goto(&format!("{root}/console/lookup")).await?;
        plain.find(Locator::Css("#q")).await?.send_keys(PHONE_NATIONAL).await?;
        plain.find(Locator::Css("form.lookup-box button")).await?.click().await?;
        plain.wait().at_most(PATIENCE).for_element(Locator::Css("table.assertions")).await?;
        assert_eq!(origins_shown(&plain).await?, ["ID", "VN"]);
        let text = body_text(&plain).await?;
        assert!(text.contains("+00:00"), "times stay in UTC without scripts: {text}");
        assert!(plain.current_url().await?.as_str().contains("q=0812"), "a GET form");
        shot(&plain, "lookup-no-scripts").await?;
        anyhow::Ok(())
    }
    .await;
    plain.close().await?;
    outcome
}
