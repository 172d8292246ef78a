//! `jaring bench extract`: free-text extraction throughput and memory.
//!
//! Two measurements over generated advert-like text (job, loan, investment
//! and parcel scams in Indonesian, Vietnamese, Thai, Malay, Tagalog and
//! English, each with phone numbers, accounts, URLs, handles and wallets
//! among prices, dates and times; every number and name drawn at random, so
//! nothing is cached):
//!
//! - `mb_per_s`: megabytes (10^6 bytes) of text per second on one core,
//!   in this process, through the same streaming extractor `jaring extract -`
//!   uses (64 KiB reads, 1 MiB chunks); 64 MiB of text by default;
//! - `stream_peak_rss_mib`: the peak resident memory of a real
//!   `jaring extract - --region ID --json` process while 1 GiB of such
//!   text is piped through it (its output read and dropped), with the
//!   end-to-end rate of that run.
//!
//! Sizes: `JARING_BENCH_EXTRACT_MIB` (in process, default 64) and
//! `JARING_BENCH_EXTRACT_STREAM_MIB` (streamed, default 1024; 0 skips it).

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use jaring_node::extract::{ExtractOptions, NoAllowlist, StreamExtractor};
use serde_json::{Value, json};

use crate::output::Output;

/// The figure the issue asks for, in MB/s on one core.
const TARGET_MB_PER_S: f64 = 20.0;

fn env_mib(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

/// Runs the scenario and prints it (unless `--json`).
///
/// # Errors
///
/// The extraction child could not run or failed.
pub async fn run(out: &Output) -> Result<Value> {
    let mib = env_mib("JARING_BENCH_EXTRACT_MIB", 64).max(1);
    let stream_mib = env_mib("JARING_BENCH_EXTRACT_STREAM_MIB", 1024);
    let r = tokio::task::spawn_blocking(move || in_process(mib)).await?;
    let mut report = r;
    if stream_mib > 0 {
        let bin = std::env::current_exe().context("finding this program to run `jaring extract -` with")?;
        let s = tokio::task::spawn_blocking(move || streamed(&bin, stream_mib)).await??;
        if let (Some(m), Some(s)) = (report.as_object_mut(), s.as_object()) {
            m.extend(s.clone());
        }
    }
    if !out.json {
        println!("extract:");
        if let Some(m) = report.as_object() {
            for (k, v) in m {
                match v.as_f64() {
                    Some(f) if f.fract() != 0.0 => println!("  {k:<40} {f:.2}"),
                    _ => println!("  {k:<40} {v}"),
                }
            }
        }
    }
    Ok(report)
}

/// Throughput of the streaming extractor over `mib` MiB of adverts.
fn in_process(mib: u64) -> Value {
    let mut text = Vec::with_capacity(usize::try_from(mib << 20).unwrap_or(0) + 4096);
    let mut adverts = Adverts::new(0x5EED_CAFE);
    while (text.len() as u64) < mib << 20 {
        adverts.push(&mut text);
    }
    let options = ExtractOptions::new(Some("ID")).unwrap_or_default();
    let mut found = Vec::new();
    let mut count = 0u64;
    let started = Instant::now();
    let mut s = StreamExtractor::new(options, &NoAllowlist);
    for piece in text.chunks(64 * 1024) {
        s.feed(piece, &mut found);
        count += found.len() as u64;
        found.clear();
    }
    s.finish(&mut found);
    count += found.len() as u64;
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let mb = text.len() as f64 / 1e6;
    json!({
        "text_mb": (mb * 10.0).round() / 10.0,
        "adverts": adverts.count,
        "seconds": secs,
        "mb_per_s": mb / secs,
        "target_mb_per_s": TARGET_MB_PER_S,
        "candidates_per_mb": count as f64 / mb,
    })
}

/// Pipes `mib` MiB of adverts through a `jaring extract -` child; its peak
/// RSS and the end-to-end rate.
fn streamed(bin: &Path, mib: u64) -> Result<Value> {
    let mut child = Command::new(bin)
        .args(["extract", "-", "--region", "ID", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {} extract", bin.display()))?;
    let pid = child.id();
    let mut stdin = child.stdin.take().context("child stdin")?;
    let mut stdout = child.stdout.take().context("child stdout")?;
    let total = mib << 20;
    let started = Instant::now();
    let writer = std::thread::spawn(move || -> std::io::Result<u64> {
        let mut adverts = Adverts::new(0xFEED_BEEF);
        let mut buf = Vec::with_capacity(1 << 20);
        let mut written = 0u64;
        while written < total {
            buf.clear();
            while buf.len() < 1 << 20 {
                adverts.push(&mut buf);
            }
            stdin.write_all(&buf)?;
            written += buf.len() as u64;
        }
        Ok(written)
    });
    let reader = std::thread::spawn(move || -> std::io::Result<(u64, u64)> {
        let mut buf = vec![0u8; 1 << 16];
        let (mut bytes, mut lines) = (0u64, 0u64);
        loop {
            let n = stdout.read(&mut buf)?;
            if n == 0 {
                return Ok((bytes, lines));
            }
            bytes += n as u64;
            lines += buf.get(..n).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count() as u64);
        }
    });
    let mut peak = 0.0f64;
    while !writer.is_finished() || !reader.is_finished() {
        peak = peak.max(peak_rss_mib(pid));
        std::thread::sleep(Duration::from_millis(50));
    }
    let written = writer.join().map_err(|_| anyhow::anyhow!("writer thread panicked"))??;
    let (out_bytes, lines) = reader.join().map_err(|_| anyhow::anyhow!("reader thread panicked"))??;
    let status = child.wait()?;
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        bail!("jaring extract - failed ({status}): {}", err.trim());
    }
    Ok(json!({
        "stream_mib": mib,
        "stream_seconds": secs,
        "stream_mb_per_s": written as f64 / 1e6 / secs,
        "stream_peak_rss_mib": peak,
        "stream_candidates": lines.saturating_sub(2),
        "stream_output_mib": out_bytes as f64 / (1 << 20) as f64,
    }))
}

fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Advert-like text: a template per language and scam, its slots filled
/// with random values.
struct Adverts {
    state: u64,
    count: u64,
}

#[rustfmt::skip]
const TEMPLATES: &[&str] = &[
    "🔥 LOWONGAN KERJA {COUNTRY} {YEAR} 🔥\nGaji Rp {PRICE} - {PRICE}/bulan, usia 18-35 tahun, TB min 160 cm.\nDaftar: hxxps://{DOMAIN}[.]com/daftar atau www.{DOMAIN}.co.id\nHubungi WA {PHONE_ID} / {PHONE_ID}\nBiaya admin transfer ke BCA {ACCOUNT} a/n PT {NAME} Jaya\nTelegram kami: @{HANDLE} | IG: {HANDLE}.id\nSeleksi tgl {DATE} jam 08.00-17.00 WIB\n\n",
    "TUYỂN GẤP {N} NHÂN VIÊN LÀM VIỆC TẠI CAMPUCHIA - lương {PRICE}đ/tháng\nBao ăn ở, vé máy bay. Nam/nữ 18-30 tuổi, cao 1m60.\nLiên hệ SĐT/Zalo: {PHONE_VN}\nĐặt cọc: STK Vietcombank {ACCOUNT}123 - CTK NGUYEN VAN {NAME}\nhoặc ví MoMo {PHONE_VN}\nNạp USDT ví TRC20 theo hướng dẫn của admin trên Telegram @{HANDLE}\nNgày {DATE}, CCCD {ACCOUNT}12\n\n",
    "รับสมัครงานออนไลน์ ทำงานที่บ้าน รายได้วันละ 500-3,000 บาท\nสนใจแอดไลน์ไอดี: @{HANDLE} หรือโทร {PHONE_TH}\nโอนค่าสมัคร 299 บาท เข้าบัญชีกสิกร {ACCOUNT} ชื่อบัญชี นาย{NAME}\nเว็บไซต์ https://{DOMAIN}.com/register?ref={N}\nวันที่ {DATE} เวลา 10.00-21.00 น.\n\n",
    "KERJA SAMBILAN DARI RUMAH 🏠 Pendapatan RM150 - RM500 sehari!\nYuran pendaftaran RM99, bayar ke Maybank {ACCOUNT}12 ({NAME})\nWhatsApp: {PHONE_MY}\nSertai Telegram kami @{HANDLE} atau layari {DOMAIN}.com.my\nPoskod 43000, tarikh {DATE}\n\n",
    "HIRING! Work from home, kikita ka ng ₱1,500 - ₱5,000 daily!\nRegistration fee ₱350 lang, send sa GCash {PHONE_PH} ({NAME})\nText or call: {PHONE_PH}\nJoin our Telegram @{HANDLE} or visit https://{DOMAIN}.ph/apply\nSSS 34-1234567-8, {DATE}\n\n",
    "Guaranteed 8% monthly returns! Minimum S${PRICE}.\nTransfer to DBS {ACCOUNT} and WhatsApp +65 9{D7}\nDeposit USDT (TRC20) to our wallet, details at https://{DOMAIN}.com/invest?id={N}\nEmail {HANDLE}@{DOMAIN}.net · Office: Blk {N} Tampines St 11, Singapore 521123\n\n",
    "[J&T EXPRESS] Paket Anda dgn no resi JT{D7} tertahan. Konfirmasi di hxxp://{DOMAIN}[.]xyz/track?id={N} dlm 1x24 jam. CS: {PHONE_ID}\n\n",
    "Harga promo {DATE}: beras 5kg Rp {PRICE}, minyak 2L Rp 35.000, buka 10.00-22.00, Jl. Sudirman No. {N}, Jakarta 10310. Info lengkap di website resmi kami.\n\n",
];

const WORDS: &[&str] = &[
    "kerja", "gaji", "loker", "jepang", "viec", "lam", "job", "thai", "cuan", "invest", "emas", "kapal", "cs", "admin",
];
const NAMES: &[&str] = &["Budi", "Siti", "Hung", "Somchai", "Aminah", "Santos", "Tan", "Rina", "Anh", "Dewi"];

impl Adverts {
    fn new(seed: u64) -> Adverts {
        Adverts { state: seed | 1, count: 0 }
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        let i = usize::try_from(self.next() % from.len() as u64).unwrap_or(0);
        from.get(i).copied().unwrap_or_default()
    }

    fn digits(&mut self, n: u32) -> String {
        let v = self.next() % 10u64.pow(n);
        format!("{v:0width$}", width = n as usize)
    }

    fn slot(&mut self, name: &str) -> String {
        match name {
            "COUNTRY" => self.pick(&["JEPANG", "KOREA", "TAIWAN", "KAMBOJA"]).to_string(),
            "YEAR" => format!("{}", 2024 + self.next() % 3),
            "PRICE" => format!("{}.{:03}.000", 1 + self.next() % 40, self.next() % 1000),
            "DOMAIN" => format!("{}-{}{}", self.pick(WORDS), self.pick(WORDS), self.next() % 1000),
            "HANDLE" => format!("{}_{}{}", self.pick(WORDS), self.pick(WORDS), self.next() % 100),
            "NAME" => self.pick(NAMES).to_string(),
            "ACCOUNT" => self.digits(10),
            "N" => format!("{}", self.next() % 500),
            "D7" => self.digits(7),
            "DATE" => format!("{:02}/{:02}/2025", 1 + self.next() % 28, 1 + self.next() % 12),
            "PHONE_ID" => {
                let p = self.pick(&["812", "813", "821", "852", "857", "878", "896"]);
                let (a, b) = (self.digits(4), self.digits(4));
                format!("0{p}-{a}-{b}")
            }
            "PHONE_VN" => {
                let p = self.pick(&["91", "98", "90", "93", "97", "86", "70"]);
                let (a, b) = (self.digits(3), self.digits(4));
                format!("0{p}{}.{a}.{b}", self.next() % 10)
            }
            "PHONE_TH" => {
                let p = self.pick(&["81", "89", "86", "92", "95", "65"]);
                let (a, b) = (self.digits(3), self.digits(4));
                format!("0{p}-{a}-{b}")
            }
            "PHONE_MY" => {
                let p = self.pick(&["12", "13", "16", "17", "19"]);
                let (a, b) = (self.digits(3), self.digits(4));
                format!("0{p}-{a} {b}")
            }
            "PHONE_PH" => {
                let p = self.pick(&["917", "918", "998", "945", "927"]);
                let (a, b) = (self.digits(3), self.digits(4));
                format!("0{p} {a} {b}")
            }
            _ => String::new(),
        }
    }

    /// Appends one advert to `out`.
    fn push(&mut self, out: &mut Vec<u8>) {
        self.count += 1;
        let template = self.pick(TEMPLATES);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.extend_from_slice(rest.get(..open).unwrap_or_default().as_bytes());
            let after = rest.get(open + 1..).unwrap_or_default();
            let Some(close) = after.find('}') else { break };
            let value = self.slot(after.get(..close).unwrap_or_default());
            out.extend_from_slice(value.as_bytes());
            rest = after.get(close + 1..).unwrap_or_default();
        }
        out.extend_from_slice(rest.as_bytes());
    }
}
