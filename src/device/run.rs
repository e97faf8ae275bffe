//! `fleetscope run`: the probe on every selected device, in parallel. Per device: a
//! lock (two runs never share a phone), the probe binary for its ABI pushed to
//! /data/local/tmp, `identify` first (so even a cut-short run has an identity), then
//! the suite with finished results streamed back while a watcher polls
//! `adb get-state`. A complete report is pulled, validated, saved and uploaded; a
//! device that vanishes leaves a local report marked partial, with the reason.
//! With two probe directories (an A/B run), both builds go to each phone and their
//! runs alternate A B, B A, ... so that drift in temperature or load hits both alike;
//! each build's reports go to its own folder under `out`, ready for `compare --by device`.

use super::{Adb, DeviceEntry, DeviceError};
use crate::probe::suite;
use crate::schema::{Identity, Issue, KernelResult, Report, RunConditions, SuiteRef};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const REMOTE_DIR: &str = "/data/local/tmp";
/// The fleet's salt on the phone for the length of a run (mode 0600, removed after).
const REMOTE_SALT: &str = "/data/local/tmp/.fleetscope-salt";

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub serials: Vec<String>,
    pub all: bool,
    pub suite: String,
    pub out: PathBuf,
    /// Probe binaries per ABI: none (the build outputs), one, or two for an A/B run.
    pub probe_dirs: Vec<PathBuf>,
    /// Run this ABI's probe (one of the phone's `abilist`) instead of the best one.
    pub abi: Option<String>,
    /// Collector URL and ingest token; `None` keeps reports local.
    pub collector: Option<(String, String)>,
    pub spool: Option<PathBuf>,
    /// The fleet's device salt (`--salt-file`), given to the probe on the phone and
    /// never written into a report; without it device hashes are local-only.
    pub salt: Option<crate::util::Token>,
    /// Runs per device; between runs, wait for the device to cool down.
    pub repeat: u32,
    /// With root, force the `performance` governor for the runs and restore it after.
    pub lock_governor: bool,
    pub cooldown_margin_c: f64,
    pub cooldown_max: Duration,
}

/// How one device's run ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Complete {
        report: PathBuf,
        results: usize,
        uploaded: Option<bool>,
    },
    Partial {
        report: PathBuf,
        results: usize,
        reason: String,
    },
    Failed {
        reason: String,
    },
}

/// One probe build of a run: where its binaries are, where its reports go, and its
/// label in an A/B run.
#[derive(Debug, Clone)]
struct Arm {
    probe_dir: Option<PathBuf>,
    out: PathBuf,
    label: Option<String>,
}

impl RunOptions {
    /// The builds to run: one, or two for an A/B run (reports in OUT/LABEL, LABEL the
    /// probe directory's name, or `a` and `b` when the two names are the same).
    fn arms(&self) -> Result<Vec<Arm>, String> {
        match self.probe_dirs.as_slice() {
            [] | [_] => Ok(vec![Arm {
                probe_dir: self.probe_dirs.first().cloned(),
                out: self.out.clone(),
                label: None,
            }]),
            [a, b] => {
                let name = |p: &Path| {
                    std::fs::canonicalize(p)
                        .unwrap_or_else(|_| p.to_path_buf())
                        .file_name()
                        .map(|n| file_safe(&n.to_string_lossy()))
                        .unwrap_or_default()
                };
                let (mut la, mut lb) = (name(a), name(b));
                if la == lb || la.is_empty() || lb.is_empty() {
                    (la, lb) = ("a".into(), "b".into());
                }
                Ok([(a, la), (b, lb)]
                    .into_iter()
                    .map(|(dir, label)| Arm {
                        probe_dir: Some(dir.clone()),
                        out: self.out.join(&label),
                        label: Some(label),
                    })
                    .collect())
            }
            _ => Err("give --probe-dir once, or twice for an A/B run of two probe builds".into()),
        }
    }
}

/// A per-device lock: an OS file lock (flock) on `fleetscope-locks/SERIAL.lock` in the
/// temporary directory. The kernel releases it when the holder exits, however it
/// dies, and never grants it to two processes; the file itself stays (deleting it
/// would let a waiter lock an unlinked inode) and holds the holder's pid for messages.
struct DeviceLock {
    _file: std::fs::File,
}

impl DeviceLock {
    fn take(serial: &str) -> Result<DeviceLock, String> {
        let dir = std::env::temp_dir().join("fleetscope-locks");
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let path = dir.join(format!("{}.lock", file_safe(serial)));
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("cannot open the lock {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {
                use std::io::Write;
                // Only the holder writes: the pid is for the next run's message.
                let _ = file.set_len(0);
                let _ = write!(file, "{}", std::process::id());
                Ok(DeviceLock { _file: file })
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {holder})")
                };
                Err(format!(
                    "device is busy: another fleetscope run{who} holds {}; wait for it to finish",
                    path.display()
                ))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                Err(format!("cannot lock {}: {e}", path.display()))
            }
        }
    }
}

/// A serial as a file name: letters, digits, `-` and `.`; anything else becomes `_`.
fn file_safe(serial: &str) -> String {
    serial
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The probe binary for an ABI: `--probe-dir DIR` (DIR/ABI/fleetscope-probe or
/// DIR/fleetscope-probe); else, for the host's own ABI, the probe beside `fleetscope`
/// (or `fleetscope` itself); else the build outputs of scripts/build-probes.sh
/// (`target/probes/ABI/fleetscope-probe`, or for arm64-v8a scripts/build-arm64.sh's).
pub fn probe_for(abi: &str, probe_dir: Option<&Path>) -> Result<PathBuf, DeviceError> {
    if let Some(dir) = probe_dir {
        let candidates = [
            dir.join(abi).join("fleetscope-probe"),
            dir.join(format!("fleetscope-probe-{abi}")),
            dir.join("fleetscope-probe"),
        ];
        return candidates.into_iter().find(|p| p.is_file()).ok_or_else(|| DeviceError::NoProbe(format!("no probe for ABI {abi} in {} (looked for {abi}/fleetscope-probe and fleetscope-probe)", dir.display())));
    }
    let exe = std::env::current_exe().map_err(|e| {
        DeviceError::NoProbe(format!("cannot find this executable to pick a probe: {e}"))
    })?;
    let bin_dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    let target_dir = bin_dir.parent().map(Path::to_path_buf).unwrap_or_default();
    if abi == crate::probe::identify::this_abi() {
        let beside = bin_dir.join("fleetscope-probe");
        return Ok(if beside.is_file() { beside } else { exe });
    }
    let built = target_dir.join("probes").join(abi).join("fleetscope-probe");
    let legacy = (abi == "arm64-v8a").then(|| {
        target_dir
            .join("aarch64-unknown-linux-musl")
            .join("probe")
            .join("fleetscope-probe")
    });
    std::iter::once(built.clone())
        .chain(legacy)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            DeviceError::NoProbe(format!(
                "no probe binary for ABI {abi} at {}: run scripts/build-probes.sh {abi}, or pass --probe-dir",
                built.display()
            ))
        })
}

fn step(adb: &Adb, serial: &str, args: &[&str], what: &str) -> Result<String, String> {
    let mut full = vec!["-s", serial];
    full.extend_from_slice(args);
    let out = adb.run(&full, Duration::from_secs(300))?;
    if out.ok() {
        Ok(out.stdout)
    } else {
        Err(format!("{what}: {}", out.complaint()))
    }
}

/// The phone's ABIs, best first: `ro.product.cpu.abilist`, or before Android 5.0
/// `ro.product.cpu.abi` and `abi2`.
fn abilist(adb: &Adb, serial: &str) -> Result<Vec<String>, String> {
    let out = adb.shell(
        serial,
        "getprop ro.product.cpu.abilist; getprop ro.product.cpu.abi; getprop ro.product.cpu.abi2",
        Duration::from_secs(20),
    )?;
    if !out.ok() {
        return Err(format!("cannot read the ABI: {}", out.complaint()));
    }
    let mut lines = out.stdout.lines();
    let abis = crate::probe::identify::abi_list(lines.next(), lines.next(), lines.next());
    if abis.is_empty() {
        return Err(
            "the phone names no ABI (ro.product.cpu.abilist and ro.product.cpu.abi are empty)"
                .into(),
        );
    }
    Ok(abis)
}

/// The probe to run: for `--abi`, that ABI's (if the phone runs it); else the first
/// ABI of the phone's list, in its own order, that has a probe. The phone's order
/// puts its native ABI first, so an x86 tablet that also lists `armeabi-v7a` (run
/// through a binary translator) gets the x86 probe.
fn pick_probe(
    adb: &Adb,
    serial: &str,
    forced: Option<&str>,
    probe_dir: Option<&Path>,
) -> Result<(String, PathBuf), String> {
    let abis = abilist(adb, serial)?;
    if let Some(abi) = forced {
        if !abis.iter().any(|a| a == abi) {
            return Err(format!(
                "--abi {abi}: this phone runs {} only",
                abis.join(", ")
            ));
        }
        return Ok((abi.to_string(), probe_for(abi, probe_dir)?));
    }
    let mut missing = Vec::new();
    for abi in &abis {
        match probe_for(abi, probe_dir) {
            Ok(p) => return Ok((abi.clone(), p)),
            Err(e) => missing.push(e.to_string()),
        }
    }
    Err(format!(
        "no probe for any of this phone's ABIs ({}): {}",
        abis.join(", "),
        missing.join("; ")
    ))
}

/// What one device needs for one probe build's runs, prepared once.
struct Prepared {
    arm: Arm,
    /// The probe as the phone's shell runs it (with the fleet's salt in its environment).
    remote_probe: String,
    remote_suite: String,
    identity: Identity,
    suite_ref: SuiteRef,
}

/// Run the suite `opt.repeat` times on one device (stopping at the first run that
/// does not complete). `note` receives progress lines.
pub fn run_device(
    adb: &Adb,
    serial: &str,
    opt: &RunOptions,
    note: &(dyn Fn(&str, &str) + Sync),
) -> Vec<Outcome> {
    let _lock = match DeviceLock::take(serial) {
        Ok(l) => l,
        Err(reason) => return vec![Outcome::Failed { reason }],
    };
    let outcomes = runs(adb, serial, opt, note);
    if opt.salt.is_some() {
        let removed = adb.shell(
            serial,
            &format!("rm -f {REMOTE_SALT}"),
            Duration::from_secs(20),
        );
        if !matches!(removed, Ok(ref o) if o.ok()) {
            note(
                serial,
                &format!(
                    "could not remove the salt from the phone ({REMOTE_SALT}): delete it by hand"
                ),
            );
        }
    }
    outcomes
}

/// The runs on one locked device.
fn runs(
    adb: &Adb,
    serial: &str,
    opt: &RunOptions,
    note: &(dyn Fn(&str, &str) + Sync),
) -> Vec<Outcome> {
    let prepared: Result<Vec<Prepared>, String> = opt.arms().and_then(|arms| {
        let n = arms.len();
        arms.into_iter()
            .enumerate()
            .map(|(i, arm)| prepare(adb, serial, opt, arm, (n > 1).then_some(i), note))
            .collect()
    });
    let prepared = match prepared {
        Ok(p) => p,
        Err(reason) => return vec![Outcome::Failed { reason }],
    };
    let root = matches!(adb.shell(serial, "su -c id", Duration::from_secs(20)), Ok(o) if o.ok() && o.stdout.contains("uid=0"));
    let (mut restore, mut governor_note) = (Vec::new(), None);
    if opt.lock_governor {
        if root {
            match lock_governor(adb, serial) {
                Ok(orig) => restore = orig,
                Err(e) => governor_note = Some(format!("governor not locked: {e}")),
            }
        } else {
            governor_note = Some(
                "governor not locked: no root (su) on this device; runs use its own governor"
                    .into(),
            );
        }
    }
    let baseline = super::hottest_temp(adb, serial);
    let mut outcomes = Vec::new();
    // A B, B A, A B, ...: a drift over the runs hits both builds alike.
    let order = (1..=opt.repeat.max(1)).flat_map(|index| {
        let mut arms: Vec<&Prepared> = prepared.iter().collect();
        if index % 2 == 0 {
            arms.reverse();
        }
        arms.into_iter().map(move |p| (index, p))
    });
    for (index, p) in order {
        let waited = if !outcomes.is_empty() {
            cool_down(adb, serial, baseline, opt)
        } else {
            0.0
        };
        let conditions = RunConditions {
            launcher: "adb".into(),
            root,
            governor_locked: (!restore.is_empty()).then(|| "performance".to_string()),
            governor_note: governor_note.clone(),
            run_index: index,
            cooldown_waited_s: (waited * 10.0).round() / 10.0,
            start_temp_c: super::hottest_temp(adb, serial),
            arm: p.arm.label.clone(),
        };
        tracing::info!(serial, run = index, arm = p.arm.label, "run started");
        let started = std::time::Instant::now();
        let outcome = one_run(adb, serial, opt, p, conditions, note);
        let secs = started.elapsed().as_secs_f64();
        match &outcome {
            Outcome::Complete { results, .. } => {
                tracing::info!(serial, run = index, results, secs, "run complete")
            }
            Outcome::Partial {
                results, reason, ..
            } => {
                tracing::warn!(serial, run = index, results, secs, reason, "run partial")
            }
            Outcome::Failed { reason } => tracing::warn!(serial, run = index, reason, "run failed"),
        }
        let complete = matches!(outcome, Outcome::Complete { .. });
        outcomes.push(outcome);
        if !complete {
            break;
        }
    }
    if !restore.is_empty() {
        if let Err(e) = restore_governor(adb, serial, &restore) {
            note(serial, &format!("could not restore the CPU governor: {e}"));
        }
    }
    outcomes
}

/// Check the device, pick and push the probe (and a custom suite), identify it. In an
/// A/B run each build is pushed under its own name (`slot` 0 or 1).
fn prepare(
    adb: &Adb,
    serial: &str,
    opt: &RunOptions,
    arm: Arm,
    slot: Option<usize>,
    note: &(dyn Fn(&str, &str) + Sync),
) -> Result<Prepared, String> {
    match adb.state(serial) {
        Ok(s) if s == "device" => {}
        Ok(s) => {
            return Err(format!(
                "state {s}: {}",
                super::hint_for(&s).unwrap_or_default()
            ))
        }
        Err(e) => {
            // adb says why (unauthorized, offline, not found); add what to do about it.
            let e = e.to_string();
            let state = ["unauthorized", "offline", "not found"]
                .into_iter()
                .find(|s| e.contains(s));
            let hint = match state {
                Some("not found") => {
                    Some("the device is not attached: check `fleetscope devices`".to_string())
                }
                Some(s) => super::hint_for(s),
                None => None,
            };
            return Err(hint.map_or(e.clone(), |h| format!("{e}: {h}")));
        }
    }
    let (abi, probe) = pick_probe(adb, serial, opt.abi.as_deref(), arm.probe_dir.as_deref())?;
    let (_, suite_ref) = suite::load(&opt.suite)?;
    let suffix = slot
        .map(|i| format!("-{}", ["a", "b"][i]))
        .unwrap_or_default();
    let mut remote_probe = format!("{REMOTE_DIR}/fleetscope-probe{suffix}");
    let mut remote_suite = opt.suite.clone();
    note(serial, &format!("pushing {} ({abi})", probe.display()));
    step(
        adb,
        serial,
        &["push", &probe.to_string_lossy(), &remote_probe],
        "adb push",
    )?;
    step(
        adb,
        serial,
        &["shell", &format!("chmod 755 {remote_probe}")],
        "chmod",
    )?;
    if let Some(salt) = &opt.salt {
        push_salt(adb, serial, salt)?;
        // Read on the phone, so the salt is in no host process's arguments.
        remote_probe = format!(
            "{}=\"$(cat {REMOTE_SALT})\" {remote_probe}",
            crate::probe::identify::SALT_ENV
        );
    }
    if !matches!(opt.suite.as_str(), "quick" | "standard") {
        remote_suite = format!("{REMOTE_DIR}/fleetscope-suite.toml");
        step(
            adb,
            serial,
            &["push", &opt.suite, &remote_suite],
            "adb push suite",
        )?;
    }
    let id = step(
        adb,
        serial,
        &["shell", &format!("{remote_probe} identify --json")],
        "identify",
    )?;
    let identity = serde_json::from_str(&id)
        .map_err(|e| format!("the probe's identify output is not JSON: {e}"))?;
    Ok(Prepared {
        arm,
        remote_probe,
        remote_suite,
        identity,
        suite_ref,
    })
}

/// One run of the suite; complete or partial, the report carries `conditions`.
fn one_run(
    adb: &Adb,
    serial: &str,
    opt: &RunOptions,
    p: &Prepared,
    conditions: RunConditions,
    note: &(dyn Fn(&str, &str) + Sync),
) -> Outcome {
    let (remote_probe, remote_suite, suite_ref) =
        (&p.remote_probe, &p.remote_suite, p.suite_ref.clone());
    let identity = p.identity.clone();
    let remote_report = format!("{REMOTE_DIR}/fleetscope-report.json");

    // Run the suite, streaming results, while a watcher polls the device state.
    let cmd = format!(
        "{remote_probe} probe --suite {remote_suite} --out {remote_report} --stream-results"
    );
    let mut child = match Command::new(&adb.path)
        .args(["-s", serial, "shell", &cmd])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            return Outcome::Failed {
                reason: format!("cannot start adb shell: {e}"),
            }
        }
    };
    let results: Arc<Mutex<Vec<KernelResult>>> = Arc::default();
    let gone = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let out_reader = child.stdout.take().map(|s| {
        let results = Arc::clone(&results);
        std::thread::spawn(move || {
            for line in BufReader::new(s).lines().map_while(Result::ok) {
                if let Some(Ok(r)) = crate::schema::parse_result_line(&line) {
                    results.lock().unwrap_or_else(|e| e.into_inner()).push(r);
                }
            }
        })
    });
    let watcher = {
        let (adb, serial, gone, finished) = (
            adb.clone(),
            serial.to_string(),
            Arc::clone(&gone),
            Arc::clone(&finished),
        );
        std::thread::spawn(move || {
            while !finished.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(500));
                if finished.load(Ordering::Relaxed) {
                    break;
                }
                if !matches!(adb.state(&serial), Ok(s) if s == "device") {
                    gone.store(true, Ordering::Relaxed);
                    break;
                }
            }
        })
    };
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            note(serial, &line);
        }
    }
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if gone.load(Ordering::Relaxed) => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(_) => break None,
        }
    };
    finished.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    // A cut adb shell often exits before the watcher's next poll: ask once more.
    if !status.is_some_and(|s| s.success()) && !matches!(adb.state(serial), Ok(s) if s == "device")
    {
        gone.store(true, Ordering::Relaxed);
    }
    if let Some(r) = out_reader {
        let _ = r.join();
    }
    let collected = results.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let out = &p.arm.out;
    let _ = std::fs::create_dir_all(out);
    let succeeded = status.is_some_and(|s| s.success()) && !gone.load(Ordering::Relaxed);
    if succeeded {
        let local = out.join(format!("{serial}.tmp.json"));
        if let Err(reason) = step(
            adb,
            serial,
            &["pull", &remote_report, &local.to_string_lossy()],
            "adb pull",
        ) {
            return partial(
                out,
                serial,
                identity,
                suite_ref,
                collected,
                conditions,
                format!("the run finished but the report could not be pulled: {reason}"),
            );
        }
        let parsed = std::fs::read(&local)
            .map_err(|e| e.to_string())
            .and_then(|b| crate::schema::parse_report(&b).map_err(|e| e.to_string()));
        let _ = std::fs::remove_file(&local);
        let mut report = match parsed {
            Ok(r) => r,
            Err(e) => {
                return partial(
                    out,
                    serial,
                    identity,
                    suite_ref,
                    collected,
                    conditions,
                    format!("the pulled report is not valid: {e}"),
                )
            }
        };
        report.conditions = Some(conditions);
        let path = out.join(format!("{serial}-{}.json", report.report_id));
        if let Err(e) = serde_json::to_vec_pretty(&report)
            .map_err(|e| e.to_string())
            .and_then(|b| std::fs::write(&path, b).map_err(|e| e.to_string()))
        {
            return Outcome::Failed {
                reason: format!("cannot save {}: {e}", path.display()),
            };
        }
        let uploaded = opt.collector.as_ref().map(|(url, token)| {
            let cfg = crate::client::UploadConfig {
                spool: opt.spool.clone(),
                ..crate::client::UploadConfig::new(url, token)
            };
            matches!(
                crate::client::upload(&cfg, std::slice::from_ref(&path)),
                Ok((_, true))
            )
        });
        return Outcome::Complete {
            report: path,
            results: report.results.len(),
            uploaded,
        };
    }
    let reason = if gone.load(Ordering::Relaxed) {
        format!(
            "the device disconnected mid-run after {} results; reconnect it and run again",
            collected.len()
        )
    } else {
        format!(
            "the probe exited with {:?} after {} results",
            status.and_then(|s| s.code()),
            collected.len()
        )
    };
    partial(
        out, serial, identity, suite_ref, collected, conditions, reason,
    )
}

/// Keep what a cut-short run produced: the identity and every streamed result, marked partial.
fn partial(
    out: &Path,
    serial: &str,
    identity: Identity,
    suite_ref: SuiteRef,
    results: Vec<KernelResult>,
    conditions: RunConditions,
    reason: String,
) -> Outcome {
    let report_id = match crate::util::uuid_v4() {
        Ok(id) => id,
        Err(e) => {
            return Outcome::Failed {
                reason: format!("{reason}; its partial results were not kept: {e}"),
            }
        }
    };
    let mut report = Report::new(identity, report_id, suite_ref);
    report.conditions = Some(conditions);
    report.started_at = crate::util::now_rfc3339();
    report.finished_at = report.started_at.clone();
    report.results = results;
    report.partial = true;
    report.errors.push(Issue {
        stage: "device".into(),
        message: reason.clone(),
    });
    let path = out.join(format!("{serial}-partial-{}.json", report.report_id));
    let written = serde_json::to_vec_pretty(&report)
        .map_err(|e| e.to_string())
        .and_then(|b| std::fs::write(&path, b).map_err(|e| e.to_string()));
    match written {
        Ok(()) => Outcome::Partial {
            report: path,
            results: report.results.len(),
            reason,
        },
        Err(e) => Outcome::Failed {
            reason: format!("{reason}; and the partial report could not be written: {e}"),
        },
    }
}

/// `scaling_governor` paths and values as the device lists them, checked so that they
/// can be written back safely.
fn governors(adb: &Adb, serial: &str) -> Result<Vec<(String, String)>, String> {
    let out = adb.shell(serial, "su -c 'for f in /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor; do echo $f $(cat $f); done'", Duration::from_secs(30))?;
    if !out.ok() {
        return Err(out.complaint());
    }
    let safe = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_-.".contains(c))
    };
    let list: Vec<(String, String)> = out
        .stdout
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(p, g)| (p.trim().to_string(), g.trim().to_string()))
        .filter(|(p, g)| p.ends_with("/cpufreq/scaling_governor") && safe(p) && safe(g))
        .collect();
    if list.is_empty() {
        Err("no readable cpufreq scaling_governor files".into())
    } else {
        Ok(list)
    }
}

/// Write `value` (per path) to each governor file as root, in one `su -c` call.
fn write_governors(adb: &Adb, serial: &str, values: &[(String, String)]) -> Result<(), String> {
    let script: Vec<String> = values
        .iter()
        .map(|(p, g)| format!("echo {g} > {p}"))
        .collect();
    let out = adb.shell(
        serial,
        &format!("su -c '{}'", script.join("; ")),
        Duration::from_secs(30),
    )?;
    if out.ok() {
        Ok(())
    } else {
        Err(out.complaint())
    }
}

/// Put the fleet's salt on the phone, readable by the shell user alone.
fn push_salt(adb: &Adb, serial: &str, salt: &crate::util::Token) -> Result<(), String> {
    let local = std::env::temp_dir().join(format!(
        "fleetscope-salt-{}-{}",
        std::process::id(),
        crate::util::entropy::secret_hex(8).map_err(|e| e.to_string())?
    ));
    let pushed = salt
        .write_private(&local)
        .map_err(|e| format!("cannot write the salt for the phone: {e}"))
        .and_then(|()| {
            step(
                adb,
                serial,
                &["push", &local.to_string_lossy(), REMOTE_SALT],
                "adb push salt",
            )
        });
    let _ = std::fs::remove_file(&local);
    pushed?;
    step(
        adb,
        serial,
        &["shell", &format!("chmod 600 {REMOTE_SALT}")],
        "chmod salt",
    )
    .map(drop)
}

/// Force `performance` on every CPU; returns what to restore.
fn lock_governor(adb: &Adb, serial: &str) -> Result<Vec<(String, String)>, String> {
    let original = governors(adb, serial)?;
    let forced: Vec<(String, String)> = original
        .iter()
        .map(|(p, _)| (p.clone(), "performance".to_string()))
        .collect();
    write_governors(adb, serial, &forced)?;
    Ok(original)
}

fn restore_governor(adb: &Adb, serial: &str, original: &[(String, String)]) -> Result<(), String> {
    write_governors(adb, serial, original)
}

/// Wait until the device is back within the margin of its starting temperature (or
/// the cap passes); returns the seconds waited.
fn cool_down(adb: &Adb, serial: &str, baseline: Option<f64>, opt: &RunOptions) -> f64 {
    let Some(base) = baseline else { return 0.0 };
    let start = std::time::Instant::now();
    while start.elapsed() < opt.cooldown_max {
        match super::hottest_temp(adb, serial) {
            Some(t) if t > base + opt.cooldown_margin_c => {
                std::thread::sleep(Duration::from_millis(500))
            }
            _ => break,
        }
    }
    start.elapsed().as_secs_f64()
}

/// One indicatif bar per device on a terminal; plain `[SERIAL] line` lines otherwise.
struct Bars {
    bars: Option<(
        indicatif::MultiProgress,
        std::collections::HashMap<String, indicatif::ProgressBar>,
    )>,
}

impl Bars {
    fn new(serials: &[String]) -> Bars {
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() {
            return Bars { bars: None };
        }
        let multi = indicatif::MultiProgress::new();
        let style =
            indicatif::ProgressStyle::with_template("{prefix:>16} {bar:24} {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        let map = serials
            .iter()
            .map(|s| {
                let b = multi.add(indicatif::ProgressBar::new(0));
                b.set_style(style.clone());
                b.set_prefix(s.clone());
                (s.clone(), b)
            })
            .collect();
        Bars {
            bars: Some((multi, map)),
        }
    }

    /// A probe progress line (`[i/n] label`) moves the bar; anything else is its message.
    fn note(&self, serial: &str, line: &str) {
        match self.bars.as_ref().and_then(|(_, m)| m.get(serial)) {
            None => eprintln!("[{serial}] {line}"),
            Some(bar) => {
                let parsed = line
                    .strip_prefix('[')
                    .and_then(|r| r.split_once(']'))
                    .and_then(|(pos, label)| {
                        let (i, n) = pos.split_once('/')?;
                        Some((
                            i.parse::<u64>().ok()?,
                            n.parse::<u64>().ok()?,
                            label.trim().to_string(),
                        ))
                    });
                match parsed {
                    Some((i, n, label)) => {
                        bar.set_length(n);
                        bar.set_position(i);
                        bar.set_message(label);
                    }
                    None => bar.set_message(line.to_string()),
                }
            }
        }
    }

    fn finish(&self) {
        if let Some((_, m)) = &self.bars {
            // abandon, not finish: finish would fill a cut-short device's bar to 100 %.
            for b in m.values() {
                b.abandon();
            }
        }
    }
}

/// Run on every selected device in parallel; the summary and whether all completed.
pub fn run_all(adb: &Adb, opt: &RunOptions) -> Result<(String, bool), DeviceError> {
    let listed: Vec<DeviceEntry> = adb.devices()?;
    let serials: Vec<String> = if opt.all {
        listed.iter().map(|d| d.serial.clone()).collect()
    } else {
        opt.serials.clone()
    };
    if serials.is_empty() {
        return Err(DeviceError::NoDevices);
    }
    let bars = Bars::new(&serials);
    let note = |serial: &str, line: &str| bars.note(serial, line);
    let per_device: Vec<(String, Vec<Outcome>)> = std::thread::scope(|s| {
        let handles: Vec<_> = serials
            .iter()
            .map(|serial| {
                (
                    serial.clone(),
                    s.spawn(|| run_device(adb, serial, opt, &note)),
                )
            })
            .collect();
        handles
            .into_iter()
            .map(|(serial, h)| {
                (
                    serial,
                    h.join().unwrap_or_else(|_| {
                        vec![Outcome::Failed {
                            reason: "the run thread panicked".into(),
                        }]
                    }),
                )
            })
            .collect()
    });
    let runs = opt.repeat.max(1) as usize * opt.probe_dirs.len().max(1);
    let devices_ok = per_device
        .iter()
        .filter(|(_, o)| o.len() == runs && o.iter().all(|x| matches!(x, Outcome::Complete { .. })))
        .count();
    let outcomes: Vec<(String, Outcome)> = per_device
        .into_iter()
        .flat_map(|(s, os)| os.into_iter().map(move |o| (s.clone(), o)))
        .collect();
    bars.finish();
    let mut text = String::from("device summary:\n");
    let mut all_ok = true;
    for (serial, o) in &outcomes {
        text += &match o {
            Outcome::Complete {
                report,
                results,
                uploaded,
            } => {
                if uploaded == &Some(false) {
                    all_ok = false;
                }
                let up = match uploaded {
                    Some(true) => ", uploaded",
                    Some(false) => ", upload failed (kept locally)",
                    None => "",
                };
                format!(
                    "  {serial:20} complete  {results} results, {}{up}\n",
                    report.display()
                )
            }
            Outcome::Partial {
                report,
                results,
                reason,
            } => {
                all_ok = false;
                format!(
                    "  {serial:20} PARTIAL   {results} results kept in {}: {reason}\n",
                    report.display()
                )
            }
            Outcome::Failed { reason } => {
                all_ok = false;
                format!("  {serial:20} FAILED    {reason}\n")
            }
        };
    }
    if devices_ok < serials.len() {
        all_ok = false;
    }
    text += &format!("{devices_ok} of {} devices completed\n", serials.len());
    Ok((text, all_ok))
}
