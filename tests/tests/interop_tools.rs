//! Interoperability with the tools partners use (issue 15): gRPC
//! reflection v1alpha (Python's grpcio-reflection) and v1 (tonic), TAXII
//! references resolved by OASIS `stix2` in strict mode, TAXII errors and
//! discovery over HTTP/1.1 and HTTP/2, the MISP feed loaded by PyMISP,
//! export filters, CSV injection, Prometheus text checked by `promtool`,
//! and `jaring hash` against an independent HMAC.
//!
//! The Python tools run from `.venv` (`.ci/setup-python.sh`), promtool
//! from the Debian package (`.ci/setup-promtool.sh`). Without them these
//! tests fail and say which script to run; they never skip.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use jaring_tests::{TestNode, assert_eventually, free_port, link};
use serde_json::{Value, json};

fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run .ci/setup-python.sh (creates .venv with stix2, grpcio-reflection, pymisp, ...) before these tests",
        venv.display()
    );
    venv
}

/// Runs a Python snippet from the venv; its stdout is one JSON document.
fn py(script: &str, args: &[&str]) -> Result<Value> {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("CURL_CA_BUNDLE")
        .env_remove("SSL_CERT_FILE")
        .output()?;
    if !out.status.success() {
        bail!("python failed: {}\n{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
    }
    serde_json::from_slice(&out.stdout)
        .with_context(|| format!("python output: {}", String::from_utf8_lossy(&out.stdout)))
}

fn node_with_http(id: &str) -> Result<(TestNode, u16)> {
    let port = free_port();
    let node = TestNode::builder(id).region("ID").init_args(&["--http", &format!("127.0.0.1:{port}")]).start()?;
    Ok((node, port))
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

fn import_csv(node: &TestNode, text: &str) -> Result<Value> {
    let csv = node.dir().join("input.csv");
    std::fs::write(&csv, text)?;
    node.cli_json(&["indicator", "import", path(&csv)])
}

fn revoke(node: &TestNode, kind: &str, value: &str) -> Result<()> {
    let listed = node.cli_json(&["indicator", "list", "--kind", kind])?;
    let id = listed
        .as_array()
        .and_then(|l| l.iter().find(|r| r["value"] == value))
        .and_then(|r| r["id"].as_str())
        .with_context(|| format!("{value} to revoke"))?
        .to_string();
    node.cli(&["indicator", "revoke", &id, "--reason", "taken down"]).map(|_| ())
}

const REFLECT: &str = r#"
import json, sys, grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from google.protobuf.descriptor_pool import DescriptorPool
addr, own, other = sys.argv[1:4]
ca, cert, key, name = sys.argv[4:8]
if cert == "-":
    # The admin listener: TLS against the node's CA, no client certificate.
    creds = grpc.ssl_channel_credentials(open(ca, "rb").read())
else:
    creds = grpc.ssl_channel_credentials(open(ca, "rb").read(), open(key, "rb").read(), open(cert, "rb").read())
channel = grpc.secure_channel(addr, creds, options=[("grpc.ssl_target_name_override", name)])
db = ProtoReflectionDescriptorDatabase(channel)
services = sorted(db.get_services())
pool = DescriptorPool(db)
methods = sorted(m.name for m in pool.FindServiceByName(own).methods)
# A fresh channel: the server ends a reflection stream after NOT_FOUND.
try:
    DescriptorPool(ProtoReflectionDescriptorDatabase(channel)).FindServiceByName(other)
    other_described = "described"
except grpc.RpcError as e:
    other_described = e.code().name
except KeyError:
    other_described = "NOT_FOUND"
print(json.dumps({"services": services, "methods": methods, "other_described": other_described}))
"#;

#[test]
fn grpc_reflection_v1alpha_and_v1_list_only_what_each_listener_serves() -> Result<()> {
    python();
    let a = TestNode::builder("ID").region("ID").start()?;
    let b = TestNode::builder("VN").region("VN").start()?;
    link(&a, &b, &[], &[])?;
    let expected = |own: &str| {
        json!([
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            own
        ])
    };
    // Admin listener, TLS against the node's CA, Python's client (v1alpha).
    let admin = py(
        REFLECT,
        &[
            &format!("127.0.0.1:{}", a.admin_port),
            "jaring.v1.Admin",
            "jaring.v1.Federation",
            path(&a.dir().join("tls/ca.pem")),
            "-",
            "-",
            "id.jaring.local",
        ],
    )?;
    assert_eq!(admin["services"], expected("jaring.v1.Admin"), "{admin}");
    assert!(admin["methods"].as_array().is_some_and(|m| m.iter().any(|x| x == "SubmitIndicators")), "{admin}");
    assert_eq!(admin["other_described"], "NOT_FOUND", "the admin listener describes Federation: {admin}");
    // Federation listener, mTLS with the peer VN's certificate.
    let fed = py(
        REFLECT,
        &[
            &format!("127.0.0.1:{}", a.fed_port),
            "jaring.v1.Federation",
            "jaring.v1.Admin",
            path(&a.dir().join("tls/ca.pem")),
            path(&b.dir().join("tls/node.pem")),
            path(&b.dir().join("tls/node.key")),
            "id.jaring.local",
        ],
    )?;
    assert_eq!(fed["services"], expected("jaring.v1.Federation"), "{fed}");
    assert!(fed["methods"].as_array().is_some_and(|m| m.iter().any(|x| x == "Subscribe")), "{fed}");
    assert_eq!(fed["other_described"], "NOT_FOUND", "{fed}");

    // tonic's v1 client on the admin listener.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let names = rt.block_on(async {
        use tonic_reflection::pb::v1::ServerReflectionRequest;
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        let channel = jaring_node::admin::channel::AdminEndpoint::of_node_dir(a.dir())?.connect().await?;
        let mut reflection = ServerReflectionClient::new(channel);
        let requests = vec![
            ServerReflectionRequest {
                host: String::new(),
                message_request: Some(MessageRequest::ListServices(String::new())),
            },
            ServerReflectionRequest {
                host: String::new(),
                message_request: Some(MessageRequest::FileContainingSymbol("jaring.v1.Federation".into())),
            },
        ];
        let mut stream = reflection.server_reflection_info(tokio_stream::iter(requests)).await?.into_inner();
        let Some(resp) = stream.message().await? else { bail!("no reflection answer") };
        let Some(MessageResponse::ListServicesResponse(list)) = resp.message_response else {
            bail!("not a service list")
        };
        let described = stream.message().await;
        let code = described.err().map(|s| s.code());
        assert_eq!(code, Some(tonic::Code::NotFound), "the admin listener must not describe jaring.v1.Federation");
        Ok::<_, anyhow::Error>(list.service.into_iter().map(|s| s.name).collect::<Vec<_>>())
    })?;
    assert_eq!(json!(names.iter().collect::<BTreeSet<_>>()), expected("jaring.v1.Admin"));
    Ok(())
}

const SMALL_CSV: &str = "\
kind,value,categories,tlp,confidence,distribution,valid_until,first_seen,description,source_refs
domain,loker-resmi.co.id,job_scam,green,80,federation,,,fake job site,
url,https://loker-resmi.co.id/apply,job_scam,clear,70,federation,,,,
domain,secret-amber.example.com,phishing,amber,60,federation,,,,
bank_account,bca 555-000-4242,investment_scam,green,90,federation,,,,
";

const TAXII_REFS: &str = r#"
import json, sys, warnings
warnings.filterwarnings("ignore")
import requests, stix2
from taxii2client.v21 import Server
url, token, ca = sys.argv[1:4]
server = Server(url, user="p", password=token, verify=ca)
coll = [c for c in server.api_roots[0].collections if c.title.endswith("everything held")][0]
env = coll.get_objects()
objs = env["objects"]
strict = {}
for o in objs:
    if o["type"] in ("identity", "marking-definition"):
        strict[o["id"]] = type(stix2.parse(o, allow_custom=False)).__name__
store = stix2.MemoryStore([stix2.parse(o, allow_custom=True) for o in objs])
envir = stix2.Environment(store=store)
indicators = [o for o in objs if o["type"] == "indicator"]
creators = sorted({envir.creator_of(store.get(i["id"])).name for i in indicators})
markings = sorted({store.get(m)["name"] for i in indicators for m in i["object_marking_refs"]})
# Every reference precedes its referrer in the page.
order_ok = all(
    objs.index(next(x for x in objs if x["id"] == ref)) < objs.index(i)
    for i in indicators for ref in [i["created_by_ref"]] + i["object_marking_refs"]
)
ident = indicators[0]["created_by_ref"]
def get(path, **params):
    r = requests.get(coll.url + path, params=params, headers={"Authorization": "Bearer " + token, "Accept": "application/taxii+json;version=2.1"}, verify=ca)
    return r.status_code, (r.json() if r.content else None)
print(json.dumps({
  "types": sorted({o["type"] for o in objs}), "count": len(objs), "strict": strict,
  "creators": creators, "markings": markings, "order_ok": order_ok,
  "identity_by_id": get("objects/" + ident + "/"),
  "identity_versions": get("objects/" + ident + "/versions/"),
  "green_by_id": get("objects/marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb/"),
  "amber_by_id": get("objects/marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421/")[0],
  "only_identities": get("objects/", **{"match[type]": "identity"}),
  "only_markings": get("objects/", **{"match[type]": "marking-definition"}),
  "manifest_types": sorted({m["id"].split("--")[0] for m in get("manifest/")[1]["objects"]}),
  "spec_20": get("objects/", **{"match[spec_version]": "2.0"}),
  "spec_21": len(get("objects/", **{"match[spec_version]": "2.1"})[1]["objects"]),
  "limit_0": get("objects/", limit="0"),
  "limit_1": get("objects/", limit="1")[1],
}))
"#;

#[test]
fn taxii_serves_identities_and_markings_that_stix2_resolves_strictly() -> Result<()> {
    python();
    let (a, port) = node_with_http("ID")?;
    assert_eq!(import_csv(&a, SMALL_CSV)?["stored"], 4);
    let token = a.cli(&["token", "create", "platform", "--max-tlp", "green"])?.trim().to_string();
    let ca = a.dir().join("tls/ca.pem");
    let r = py(TAXII_REFS, &[&format!("https://127.0.0.1:{port}/taxii2/"), &token, path(&ca)])?;
    assert_eq!(r["types"], json!(["identity", "indicator", "marking-definition"]), "{r:#}");
    // 3 green-or-below indicators, one identity, clear and green markings.
    assert_eq!(r["count"], 6, "{r:#}");
    assert_eq!(
        r["strict"].as_object().map(|m| m.values().filter_map(Value::as_str).collect::<BTreeSet<_>>()),
        Some(BTreeSet::from(["Identity", "MarkingDefinition"])),
        "{r:#}"
    );
    assert_eq!(r["creators"], json!(["Jaring node ID"]), "Environment.creator_of: {r:#}");
    assert_eq!(r["markings"], json!(["TLP:CLEAR", "TLP:GREEN"]), "{r:#}");
    assert_eq!(r["order_ok"], true, "{r:#}");
    assert_eq!(r["identity_by_id"][0], 200, "{r:#}");
    assert_eq!(r["identity_by_id"][1]["objects"][0]["name"], "Jaring node ID");
    assert_eq!(r["identity_versions"][1]["versions"], json!(["2026-01-01T00:00:00.000Z"]), "{r:#}");
    assert_eq!(r["green_by_id"][0], 200, "{r:#}");
    assert_eq!(r["amber_by_id"], 404, "a green token sees no amber marking: {r:#}");
    assert_eq!(r["only_identities"][1]["objects"].as_array().map(Vec::len), Some(1), "{r:#}");
    assert_eq!(r["only_markings"][1]["objects"].as_array().map(Vec::len), Some(2), "{r:#}");
    assert_eq!(r["manifest_types"], json!(["identity", "indicator", "marking-definition"]), "{r:#}");
    assert_eq!(r["spec_20"][0], 200);
    assert_eq!(r["spec_20"][1]["objects"], Value::Null, "match[spec_version]=2.0 matches nothing: {r:#}");
    assert_eq!(r["spec_21"], 6);
    assert_eq!(r["limit_0"][0], 400, "{r:#}");
    assert_eq!(r["limit_0"][1]["http_status"], "400", "{r:#}");
    assert!(r["limit_0"][1]["description"].as_str().is_some_and(|d| d.contains("limit")), "{r:#}");
    // limit=1: one object, more to come.
    assert_eq!(r["limit_1"]["objects"].as_array().map(Vec::len), Some(1), "{r:#}");
    assert_eq!(r["limit_1"]["more"], true, "{r:#}");
    Ok(())
}

const TAXII_ERRORS: &str = r#"
import json, sys, warnings
warnings.filterwarnings("ignore")
import httpx
base, token, ca, host = sys.argv[1:5]
h = {"Authorization": "Bearer " + token, "Accept": "application/taxii+json;version=2.1"}
out = {}
with httpx.Client(http2=False, verify=ca) as c:
    for name, method, path in [("unknown", "GET", "/jaring/nope/"), ("no_slash", "GET", "/taxii2"),
                               ("no_slash_root", "GET", "/jaring/collections"), ("post", "POST", "/jaring/collections/"),
                               ("delete", "DELETE", "/taxii2/")]:
        r = c.request(method, base + path, headers=h)
        out[name] = {"status": r.status_code, "type": r.headers.get("content-type"), "allow": r.headers.get("allow"),
                     "body": r.json() if r.content and "json" in r.headers.get("content-type", "") else r.text}
    out["http1_roots"] = c.get(base + "/taxii2/", headers={**h, "Host": host}).json()["api_roots"]
with httpx.Client(http2=True, verify=ca) as c:
    r = c.get(base + "/taxii2/", headers=h)
    out["http2_version"] = r.http_version
    out["http2_roots"] = r.json()["api_roots"]
print(json.dumps(out))
"#;

#[test]
fn taxii_errors_are_taxii_json_and_discovery_names_the_requested_authority() -> Result<()> {
    python();
    let port = free_port();
    let mut a = TestNode::builder("ID").region("ID").init_args(&["--http", &format!("127.0.0.1:{port}")]).start()?;
    let token = a.cli(&["token", "create", "platform"])?.trim().to_string();
    let ca = a.dir().join("tls/ca.pem");
    let base = format!("https://127.0.0.1:{port}");
    let r = py(TAXII_ERRORS, &[&base, &token, path(&ca), &format!("localhost:{port}")])?;
    for (name, status) in [("unknown", 404), ("no_slash", 404), ("no_slash_root", 404), ("post", 405), ("delete", 405)]
    {
        let e = &r[name];
        assert_eq!(e["status"], status, "{name}: {e}");
        assert_eq!(e["type"], "application/taxii+json;version=2.1", "{name}: {e}");
        assert_eq!(e["body"]["http_status"], status.to_string(), "{name}: {e}");
        assert!(e["body"]["title"].is_string() && e["body"]["description"].is_string(), "{name}: {e}");
    }
    assert!(r["no_slash"]["body"]["description"].as_str().is_some_and(|d| d.contains("/taxii2/")), "{r:#}");
    assert_eq!(r["post"]["allow"], "GET, HEAD");
    assert_eq!(r["http1_roots"], json!([format!("https://localhost:{port}/jaring/")]), "{r:#}");
    assert_eq!(r["http2_version"], "HTTP/2");
    assert_eq!(r["http2_roots"], json!([format!("https://127.0.0.1:{port}/jaring/")]), "HTTP/2 :authority: {r:#}");

    // A configured public URL wins over whatever the request names.
    a.stop()?;
    let toml = a.dir().join("node.toml");
    let text = std::fs::read_to_string(&toml)?;
    let text = text.replacen("[http]\n", "[http]\npublic_url = \"https://cti.example.go.id/\"\n", 1);
    assert!(text.contains("public_url"), "no [http] section in {text}");
    std::fs::write(&toml, text)?;
    a.start()?;
    let r = py(TAXII_ERRORS, &[&base, &token, path(&ca), &format!("localhost:{port}")])?;
    assert_eq!(r["http1_roots"], json!(["https://cti.example.go.id/jaring/"]), "{r:#}");
    assert_eq!(r["http2_roots"], json!(["https://cti.example.go.id/jaring/"]), "{r:#}");
    Ok(())
}

const EVERY_KIND_CSV: &str = "\
kind,value,categories,tlp,confidence,distribution,valid_until,first_seen,description,source_refs
domain,loker-resmi.co.id,job_scam;trafficking_recruitment,green,80,federation,,,fake job site,
url,https://loker-resmi.co.id/apply,job_scam,clear,70,federation,,,,
phone,0812-3456-7890,job_scam,amber,60,federation,,,,
bank_account,bca 555-000-4242,investment_scam,amber,90,federation,,,,
ewallet_account,gopay:081298765432,loan_scam,amber,55,federation,,,,
crypto_wallet,0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed,investment_scam,green,85,federation,,,,
crypto_wallet,btc:1BoatSLRHtKNngkdXEeobR76b53LETtpyT,investment_scam,green,85,federation,,,,
email,Recruiter@Loker-Resmi.co.id,job_scam,green,75,federation,,,,
ip,203.0.113.7,phishing,green,40,federation,,,,
social_handle,telegram:@LokerKerja_Resmi,job_scam,green,65,federation,,,,
domain,revoked-scam.example.com,phishing,green,50,federation,,,,
domain,expired-scam.example.com,phishing,green,50,federation,2021-01-01T00:00:00Z,2020-01-01T00:00:00Z,,
domain,red-secret.example.com,phishing,red,50,federation,,,,
domain,local-only.example.com,phishing,green,50,local,,,,
";

const MISP_FEED: &str = r#"
import copy, json, sys, hashlib, warnings
warnings.filterwarnings("ignore")
import requests
from pymisp import MISPEvent, MISPAttribute
base, token, ca = sys.argv[1:4]
h = {"Authorization": "Bearer " + token, "Accept": "application/json, text/plain, text/*"}
get = lambda p: requests.get(base + p, headers=h, verify=ca)
manifest = get("manifest.json").json()
events, attrs, texts = {}, [], []
for uuid, meta in manifest.items():
    r = get(uuid + ".json")
    texts.append(r.text)
    raw = r.json()
    ev = MISPEvent(strict_validation=True)
    ev.load(copy.deepcopy(raw))
    for a in copy.deepcopy(raw["Event"]["Attribute"]):
        strict = MISPAttribute(strict=True)
        strict.from_dict(**a)
    assert ev.uuid == uuid, (ev.uuid, uuid)
    assert str(int(ev.timestamp.timestamp())) == meta["timestamp"], (ev.timestamp, meta)
    events[uuid] = {"info": ev.info, "org": ev.Orgc.name, "tags": sorted(t.name for t in ev.tags), "n": len(ev.attributes)}
    for a in ev.attributes:
        attrs.append({"uuid": a.uuid, "type": a.type, "category": a.category, "value": a.value, "to_ids": a.to_ids,
                      "tags": sorted(t.name for t in a.tags), "event": uuid})
hashes = get("hashes.csv").text.strip().splitlines()
expected = sorted(hashlib.md5(a["value"].encode()).hexdigest() + "," + a["event"] for a in attrs)
print(json.dumps({"events": events, "attrs": attrs, "hashes_ok": sorted(hashes) == expected, "hashes": len(hashes),
  "texts": "\n".join(texts) + "\n".join(hashes),
  "no_token": requests.get(base + "manifest.json", verify=ca).status_code,
  "bad_file": get("nope.json").status_code}))
"#;

const MISP_DIR: &str = r#"
import json, sys, os, warnings
warnings.filterwarnings("ignore")
from pymisp import MISPEvent
d = sys.argv[1]
manifest = json.load(open(os.path.join(d, "manifest.json")))
attrs = []
for uuid in manifest:
    ev = MISPEvent(strict_validation=True)
    ev.load_file(os.path.join(d, uuid + ".json"))
    attrs += [{"uuid": a.uuid, "type": a.type, "value": a.value, "to_ids": a.to_ids} for a in ev.attributes]
files = sorted(os.listdir(d))
print(json.dumps({"events": sorted(manifest), "attrs": sorted(attrs, key=lambda a: a["uuid"]), "files": len(files),
                  "hashes": len(open(os.path.join(d, "hashes.csv")).read().strip().splitlines())}))
"#;

#[test]
fn misp_feed_loads_in_pymisp_with_misp_types_tags_and_to_ids() -> Result<()> {
    python();
    let (a, port) = node_with_http("ID")?;
    assert_eq!(import_csv(&a, EVERY_KIND_CSV)?["stored"], 14);
    revoke(&a, "domain", "revoked-scam.example.com")?;
    let token = a.cli(&["token", "create", "misp", "--max-tlp", "amber"])?.trim().to_string();
    let ca = a.dir().join("tls/ca.pem");
    let r = py(MISP_FEED, &[&format!("https://127.0.0.1:{port}/misp/"), &token, path(&ca)])?;
    assert_eq!(r["no_token"], 401);
    assert_eq!(r["bad_file"], 404);
    let attrs: BTreeMap<String, Value> = r["attrs"]
        .as_array()
        .context("attrs")?
        .iter()
        .map(|a| (a["value"].as_str().unwrap_or_default().to_string(), a.clone()))
        .collect();
    // 14 stored, minus RED and local.
    assert_eq!(attrs.len(), 12, "{:#}", r["attrs"]);
    for (value, ty, category) in [
        ("loker-resmi.co.id", "domain", "Network activity"),
        ("https://loker-resmi.co.id/apply", "url", "Network activity"),
        ("+6281234567890", "phone-number", "Financial fraud"),
        ("eth:0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "text", "Financial fraud"),
        ("1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "btc", "Financial fraud"),
        ("203.0.113.7", "ip-dst", "Network activity"),
        ("telegram:lokerkerja_resmi", "text", "Social network"),
    ] {
        let a = attrs.get(value).with_context(|| format!("{value} missing: {:?}", attrs.keys()))?;
        assert_eq!((&a["type"], &a["category"]), (&json!(ty), &json!(category)), "{value}: {a}");
    }
    let anonymised: Vec<&Value> = attrs.values().filter(|a| a["type"] == "anonymised").collect();
    assert_eq!(anonymised.len(), 3, "bank, e-wallet and e-mail as keyed hashes: {attrs:?}");
    let text = r["texts"].as_str().unwrap_or_default().to_lowercase();
    for plain in ["5550004242", "81298765432", "recruiter@", "red-secret", "local-only"] {
        assert!(!text.contains(plain), "{plain:?} is in the feed");
    }
    let domain = &attrs["loker-resmi.co.id"];
    assert_eq!(domain["to_ids"], true);
    let tags = domain["tags"].to_string();
    for t in ["tlp:green", r#"jaring:category=\"job_scam\""#, r#"jaring:category=\"trafficking_recruitment\""#] {
        assert!(tags.contains(t), "{t} not in {tags}");
    }
    assert!(attrs["+6281234567890"]["tags"].to_string().contains("tlp:amber"));
    for gone in ["revoked-scam.example.com", "expired-scam.example.com"] {
        assert_eq!(attrs[gone]["to_ids"], false, "{gone}: {}", attrs[gone]);
    }
    assert!(attrs["revoked-scam.example.com"]["tags"].to_string().contains(r#"jaring:status=\"revoked\""#));
    assert!(attrs["expired-scam.example.com"]["tags"].to_string().contains(r#"jaring:status=\"expired\""#));
    assert_eq!(r["hashes_ok"], true, "hashes.csv is md5(value),event uuid per attribute: {r:#}");
    let events = r["events"].as_object().context("events")?;
    assert!(events.values().all(|e| e["org"] == "Jaring node ID"), "{events:?}");
    assert!(events.values().any(|e| e["info"] == "Jaring node ID: domain indicators"), "{events:?}");

    // `jaring export misp` writes the same feed for the same rules.
    let dir = a.dir().join("misp-feed");
    a.cli(&["export", "misp", "--out", path(&dir), "--max-tlp", "amber"])?;
    let d = py(MISP_DIR, &[path(&dir)])?;
    let served: BTreeSet<&str> = events.keys().map(String::as_str).collect();
    assert_eq!(
        d["events"].as_array().map(|e| e.iter().filter_map(Value::as_str).collect::<BTreeSet<_>>()),
        Some(served)
    );
    let mut from_feed: Vec<Value> = attrs
        .values()
        .map(|a| json!({"uuid": a["uuid"], "type": a["type"], "value": a["value"], "to_ids": a["to_ids"]}))
        .collect();
    from_feed.sort_by_key(|a| a["uuid"].as_str().unwrap_or_default().to_string());
    assert_eq!(d["attrs"], json!(from_feed));
    assert_eq!(d["files"], events.len() + 2);
    assert_eq!(d["hashes"], 12);
    Ok(())
}

fn export_patterns(node: &TestNode, args: &[&str]) -> Result<BTreeSet<String>> {
    let out = node.dir().join("filtered.json");
    let mut all = vec!["export", "stix", "--out", path(&out)];
    all.extend_from_slice(args);
    node.cli(&all)?;
    let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&out)?)?;
    Ok(bundle["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["type"] == "indicator")
        .filter_map(|o| o["pattern"].as_str())
        .filter_map(|p| p.split('\'').nth(1).map(str::to_string))
        .collect())
}

#[test]
fn export_filters_leave_out_red_and_local_by_default_and_narrow_by_status_and_time() -> Result<()> {
    let a = TestNode::builder("ID").region("ID").start()?;
    let csv = "\
kind,value,categories,tlp,confidence,distribution,valid_until,first_seen
domain,green-active.example.com,phishing,green,50,federation,,
domain,amber-strict.example.com,phishing,amber+strict,50,direct,,
domain,red-secret.example.com,phishing,red,50,federation,,
domain,local-only.example.com,phishing,green,50,local,,
domain,revoked.example.com,phishing,green,50,federation,,
domain,expired.example.com,phishing,green,50,federation,2021-01-01T00:00:00Z,2020-01-01T00:00:00Z
";
    assert_eq!(import_csv(&a, csv)?["stored"], 6);
    revoke(&a, "domain", "revoked.example.com")?;
    let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let shared = ["green-active.example.com", "amber-strict.example.com", "revoked.example.com", "expired.example.com"];
    assert_eq!(export_patterns(&a, &[])?, set(&shared));
    let mut everything = shared.to_vec();
    everything.extend(["red-secret.example.com", "local-only.example.com"]);
    assert_eq!(
        export_patterns(&a, &["--max-tlp", "red", "--distribution", "local,direct,federation"])?,
        set(&everything)
    );
    assert_eq!(export_patterns(&a, &["--max-tlp", "green"])?, set(&[shared[0], shared[2], shared[3]]));
    assert_eq!(export_patterns(&a, &["--distribution", "direct"])?, set(&["amber-strict.example.com"]));
    assert_eq!(export_patterns(&a, &["--active-only"])?, set(&shared[..2]));
    assert_eq!(export_patterns(&a, &["--status", "active"])?, set(&shared[..2]));
    assert_eq!(export_patterns(&a, &["--status", "revoked"])?, set(&["revoked.example.com"]));
    assert_eq!(export_patterns(&a, &["--status", "expired,revoked"])?, set(&shared[2..]));
    // --since: the time of the last change (the revocation) keeps only it.
    let listed = a.cli_json(&["indicator", "list", "--kind", "domain"])?;
    let revoked_at = listed
        .as_array()
        .and_then(|l| l.iter().find(|r| r["value"] == "revoked.example.com"))
        .and_then(|r| r["created_at_ms"].as_i64())
        .context("revocation time")?;
    let since = humantime_rfc3339(revoked_at);
    assert_eq!(export_patterns(&a, &["--since", &since])?, set(&["revoked.example.com"]));
    assert_eq!(export_patterns(&a, &["--since", "1h"])?, set(&shared));
    let bad = a.cli_output(&["export", "stix", "--status", "stale"])?;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--status"), "{}", String::from_utf8_lossy(&bad.stderr));
    Ok(())
}

fn humantime_rfc3339(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    // RFC 3339 with milliseconds, UTC.
    let secs = t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(0));
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, ms % 1000)
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

const READ_CSV: &str = r#"
import csv, json, sys
raw = open(sys.argv[1], "rb").read()
bom = raw.startswith(b"\xef\xbb\xbf")
rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
formula = [(r["value"], k) for r in rows for k in ("description", "source_refs") if r[k][:1] in ("=", "+", "-", "@", "\t", "\r")]
print(json.dumps({"bom": bom, "rows": {r["value"]: r for r in rows}, "formula_cells": formula}))
"#;

#[test]
fn csv_export_escapes_formulas_and_excel_mode_keeps_phones_as_text() -> Result<()> {
    python();
    let a = TestNode::builder("ID").region("ID").start()?;
    let csv = "\
kind,value,categories,tlp,confidence,distribution,valid_until,first_seen,description,source_refs
phone,0812-3456-7890,job_scam,green,60,federation,,,\"=HYPERLINK(\"\"https://evil.example\"\",\"\"click\"\")\",@case-1
domain,plain.example.com,job_scam,green,60,federation,,,-2+3,+1
ip,203.0.113.7,phishing,green,40,federation,,,fine,
";
    assert_eq!(import_csv(&a, csv)?["stored"], 3);
    let out = a.dir().join("export.csv");
    a.cli(&["export", "csv", "--out", path(&out)])?;
    let r = py(READ_CSV, &[path(&out)])?;
    assert_eq!(r["bom"], false);
    assert_eq!(r["formula_cells"], json!([]), "{r:#}");
    let phone = &r["rows"]["+6281234567890"];
    assert_eq!(phone["description"], "'=HYPERLINK(\"https://evil.example\",\"click\")", "{r:#}");
    assert_eq!(phone["source_refs"], "'@case-1");
    assert_eq!(r["rows"]["plain.example.com"]["description"], "'-2+3");
    // The default export imports again (values exact).
    let b = TestNode::builder("VN").region("VN").start()?;
    let report = b.cli_json(&["indicator", "import", path(&out)])?;
    assert_eq!(report["stored"], 3, "{report}");

    let excel = a.dir().join("excel.csv");
    a.cli(&["export", "csv", "--excel", "--out", path(&excel)])?;
    let r = py(READ_CSV, &[path(&excel)])?;
    assert_eq!(r["bom"], true);
    assert_eq!(r["rows"]["'+6281234567890"]["kind"], "phone", "{r:#}");
    assert_eq!(r["rows"]["'203.0.113.7"]["kind"], "ip", "{r:#}");
    assert_eq!(r["rows"]["plain.example.com"]["confidence"], "60");
    Ok(())
}

const SCRAPE_TEXT: &str = r#"
import json, sys, ssl, urllib.request
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
ctx = ssl.create_default_context(cafile=sys.argv[2])
out = {}
for name, accept in [("text", "text/plain;version=0.0.4"), ("om", "application/openmetrics-text;version=1.0.0"), ("none", None)]:
    req = urllib.request.Request(sys.argv[1] + "/metrics", headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, context=ctx) as r:
        out[name] = {"type": r.headers.get("Content-Type"), "body": r.read().decode()}
out["om_families"] = sorted(f.name for f in om_parse(out["om"]["body"]))
print(json.dumps(out))
"#;

fn promtool_check(text: &str) -> Result<(bool, String)> {
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("promtool not found ({e}): run .ci/setup-promtool.sh (Debian package prometheus)"),
    };
    if let Some(mut stdin) = child.stdin.take() {
        std::io::Write::write_all(&mut stdin, text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    Ok((
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    ))
}

#[test]
fn metrics_speak_prometheus_text_to_promtool_with_peers_connected() -> Result<()> {
    python();
    let (a, port) = node_with_http("ID")?;
    let (b, _) = node_with_http("VN")?;
    link(&a, &b, &[], &[])?;
    a.add_domain("metric-me.example.com", "green")?;
    assert_eventually!(Duration::from_secs(15), b.lookup_found("metric-me.example.com")?, "VN never got it");
    let ca = a.dir().join("tls/ca.pem");
    let r = py(SCRAPE_TEXT, &[&format!("https://127.0.0.1:{port}"), path(&ca)])?;
    assert_eq!(r["text"]["type"], "text/plain; version=0.0.4; charset=utf-8", "{r:#}");
    assert!(r["om"]["type"].as_str().unwrap_or_default().starts_with("application/openmetrics-text"), "{r:#}");
    assert!(r["none"]["type"].as_str().unwrap_or_default().starts_with("application/openmetrics-text"), "{r:#}");
    let text = r["text"]["body"].as_str().context("text body")?;
    assert!(!text.contains("# EOF"), "{text}");
    let (ok, report) = promtool_check(text)?;
    assert!(ok, "promtool check metrics failed:\n{report}\n{text}");
    assert_eq!(report.trim(), "", "promtool found problems:\n{report}");
    // promtool refuses the OpenMetrics rendering: the reason content
    // negotiation matters.
    let (om_ok, _) = promtool_check(r["om"]["body"].as_str().unwrap_or_default())?;
    assert!(!om_ok, "promtool accepted OpenMetrics text; the test no longer shows the difference");
    // Every family has HELP; known labels exist at 0 before any event.
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let name = line.split(' ').nth(2).unwrap_or_default();
        assert!(text.contains(&format!("# HELP {name} ")), "{name} has no HELP");
    }
    for series in [
        "jaring_rejections_total{reason=\"bad_signature\"} 0",
        "jaring_rejections_total{reason=\"fork\"} 0",
        "jaring_envelopes_duplicate_total{peer=\"VN\"} 0",
        "jaring_streams_refused_total{peer=\"VN\"} 0",
        "jaring_indicators{kind=\"phone\"} 0",
    ] {
        assert!(text.lines().any(|l| l == series), "{series} missing:\n{text}");
    }
    assert!(r["om_families"].as_array().is_some_and(|f| f.iter().any(|x| x == "jaring_envelopes_sent")), "{r:#}");
    Ok(())
}

/// The README's test vector: key file of 64 hex characters `0b` x 32,
/// epoch 1, kind bank_account, value `bca 123-456-7890` (normalized
/// `BCA:1234567890`). The digest was computed with Python's `hmac`:
/// `hmac.new(bytes([0x0b]*32), b"bank_account\x00BCA:1234567890", "sha256").hexdigest()`.
const VECTOR: &str = "6c712e6ed1076c3e09b17fc78c59b9b23dc38b6d7f7e58c57916493bf3ead11b";

#[test]
fn jaring_hash_matches_the_documented_vector_and_the_federation() -> Result<()> {
    let a = TestNode::builder("ID").region("ID").start()?;
    let key = a.dir().join("vector.key");
    std::fs::write(&key, format!("{}\n", "0b".repeat(32)))?;
    let out =
        a.cli(&["hash", "--kind", "bank_account", "--federation-key", path(&key), "--epoch", "1", "bca 123-456-7890"])?;
    assert_eq!(out.trim(), VECTOR);
    let v =
        a.cli_json(&["hash", "--kind", "bank", "--federation-key", path(&key), "--epoch", "1", "BCA:1234567890"])?;
    assert_eq!(v["hash"], VECTOR);
    assert_eq!(v["normalized"], "BCA:1234567890");
    assert_eq!(v["scheme"], "hmac-sha256");
    // With --node: the node's own key, the hash its indicators carry.
    a.cli(&["indicator", "add", "--kind", "email", "--value", "Budi@Contoh.CO.ID", "--category", "job_scam"])?;
    let listed = a.cli_json(&["indicator", "list", "--kind", "email"])?;
    let stored = listed[0]["keyed_hash"].as_str().context("keyed hash")?.to_string();
    // E-mail addresses are stored lower-cased (README, "Normalization"):
    // every spelling hashes as the stored one, and another address does not.
    for spelling in ["Budi@Contoh.CO.ID", "budi@contoh.co.id", "BUDI@contoh.co.id"] {
        let ours = a.cli(&["hash", "--kind", "email", spelling])?;
        assert_eq!(ours.trim(), stored, "{spelling}");
    }
    let other = a.cli(&["hash", "--kind", "email", "budi2@contoh.co.id"])?;
    assert_ne!(other.trim(), stored);
    let none = Command::new(jaring_tests::bin("jaring")).args(["hash", "--kind", "email", "a@b.co"]).output()?;
    assert!(!none.status.success());
    assert!(
        String::from_utf8_lossy(&none.stderr).contains("--federation-key"),
        "{}",
        String::from_utf8_lossy(&none.stderr)
    );
    Ok(())
}
