//! Status from one spawn of the git binary, for large repositories.
//!
//! git checks the working tree on several threads and beats libgit2 on large repositories. This
//! runs `git --no-optional-locks status --porcelain=v2 -z --untracked-files=all` on the
//! repository libgit2 opened (explicit `--git-dir` / `--work-tree`), with a timeout, and parses
//! its NUL-separated records into the same entries the in-process path builds.
//! Twin: `ironcode/twin/vcs_porcelain.py`.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{FileStatus, make_entry};
use crate::error::{ErrorKind, ToolError, ToolResult};

/// How long one git status may take before it is killed.
pub const GIT_TIMEOUT: Duration = Duration::from_secs(120);
/// Variables that would point git at another repository or index than the one libgit2 opened.
pub const SCRUBBED_ENV: [&str; 5] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
];

/// The git executable on `PATH`, if any.
pub fn find_git() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join("git"))
        .find(|candidate| {
            candidate
                .metadata()
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// The status entries as git prints them for the repository at `git_dir`.
pub fn status_files(git_dir: &Path, work_tree: &Path) -> ToolResult<Vec<FileStatus>> {
    let git = find_git().ok_or_else(|| {
        ToolError::new(
            ErrorKind::NotFound,
            "the git executable is not on PATH; use engine='library'",
        )
    })?;
    let mut command = Command::new(git);
    command
        .arg(format!("--git-dir={}", git_dir.display()))
        .arg(format!("--work-tree={}", work_tree.display()))
        .args([
            "--no-optional-locks",
            "status",
            "--porcelain=v2",
            "-z",
            "--untracked-files=all",
            "--ignored=no",
        ])
        .current_dir(work_tree)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in SCRUBBED_ENV {
        command.env_remove(name);
    }
    let (stdout, stderr, code) = run_with_timeout(command, GIT_TIMEOUT)?;
    if code != Some(0) {
        let text = String::from_utf8_lossy(&stderr);
        let first = text.trim().lines().next().unwrap_or("").to_string();
        let message = if first.is_empty() {
            format!("git status exited with {code:?}")
        } else {
            first
        };
        return Err(ToolError::new(ErrorKind::Git, message));
    }
    Ok(parse_porcelain_v2(&stdout))
}

/// Runs `command`, collecting stdout and stderr on their own threads (so a full pipe never
/// blocks the child), and kills and reaps it when it outlives `timeout`.
fn run_with_timeout(
    mut command: Command,
    timeout: Duration,
) -> ToolResult<(Vec<u8>, Vec<u8>, Option<i32>)> {
    let mut child = command
        .spawn()
        .map_err(|e| ToolError::new(ErrorKind::Git, format!("could not run git: {e}")))?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let (sender, receiver) = mpsc::channel();
    let out_reader = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        if let Some(pipe) = stdout.as_mut() {
            let _ = pipe.read_to_end(&mut buffer);
        }
        let _ = sender.send(buffer);
    });
    let err_reader = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        if let Some(pipe) = stderr.as_mut() {
            let _ = pipe.read_to_end(&mut buffer);
        }
        buffer
    });
    // stdout reaches its end when git exits (or closes it): wait for that, not for a poll.
    let output = receiver.recv_timeout(timeout);
    if output.is_err() {
        let _ = child.kill();
    }
    let status = child.wait();
    let _ = out_reader.join();
    let errors = err_reader.join().unwrap_or_default();
    match output {
        Ok(out) => {
            let code = status
                .map_err(|e| ToolError::new(ErrorKind::Git, format!("waiting for git: {e}")))?
                .code();
            Ok((out, errors, code))
        }
        Err(_) => Err(ToolError::new(
            ErrorKind::Timeout,
            format!("git status did not finish within {} s", timeout.as_secs()),
        )),
    }
}

/// Entries of `git status --porcelain=v2 -z` output (headers and ignored files skipped).
pub fn parse_porcelain_v2(output: &[u8]) -> Vec<FileStatus> {
    let records: Vec<&[u8]> = output.split(|&b| b == 0).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < records.len() {
        let record = records[i];
        i += 1;
        if record.len() < 2 {
            continue;
        }
        match &record[..2] {
            b"1 " => {
                let fields: Vec<&[u8]> = record.splitn(9, |&b| b == b' ').collect();
                if fields.len() == 9 {
                    out.push(make_entry(fields[8], &xy(fields[1]), None, None));
                }
            }
            b"2 " => {
                let fields: Vec<&[u8]> = record.splitn(10, |&b| b == b' ').collect();
                let orig = records.get(i).copied().unwrap_or_default();
                i += 1;
                if fields.len() == 10 {
                    let similarity = std::str::from_utf8(&fields[8][1.min(fields[8].len())..])
                        .ok()
                        .and_then(|s| s.parse().ok());
                    out.push(make_entry(
                        fields[9],
                        &xy(fields[1]),
                        Some(orig),
                        similarity,
                    ));
                }
            }
            b"u " => {
                let fields: Vec<&[u8]> = record.splitn(11, |&b| b == b' ').collect();
                if fields.len() == 11 {
                    out.push(make_entry(fields[10], &xy(fields[1]), None, None));
                }
            }
            b"? " => out.push(make_entry(&record[2..], "??", None, None)),
            _ => {}
        }
    }
    out
}

/// Porcelain v2 writes an unchanged side as '.', v1 as ' '.
fn xy(field: &[u8]) -> String {
    String::from_utf8_lossy(field).replace('.', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_record_kind() {
        let output = b"# branch.oid abc\0# branch.head main\0\
1 .M N... 100644 100644 100644 a b x y.txt\0\
2 R. N... 100644 100644 100644 a b R87 new name\0old\0\
u UU N... 100644 100644 100644 100644 a b c conflict\0\
? dir/untracked\0";
        let entries = parse_porcelain_v2(output);
        let lines: Vec<_> = entries
            .iter()
            .map(|e| {
                (
                    e.xy.as_str(),
                    e.path.as_str(),
                    e.orig_path.as_deref(),
                    e.similarity,
                )
            })
            .collect();
        assert_eq!(
            lines,
            vec![
                (" M", "x y.txt", None, None),
                ("R ", "new name", Some("old"), Some(87)),
                ("UU", "conflict", None, None),
                ("??", "dir/untracked", None, None),
            ]
        );
    }
}
