//! The `io.systemd.ManagedOOM` varlink protocol between PID 1 and systemd-oomd 248
//! (spec §4.4), oomd's side, plus the PID 1 replies for tests and other managers.
//!
//! In 248's system mode PID 1 *serves* `/run/systemd/io.system.ManagedOOM` (sic) and
//! oomd connects and calls `io.systemd.ManagedOOM.SubscribeManagedOOMCGroups` with empty
//! parameters and `"more": true`. PID 1 answers with `{"parameters":{"cgroups":[…]},
//! "continues":true}`: first every active unit with a `kill` mode, then one message per
//! unit change (inactive units with mode `auto`). Each element is
//! `{"mode":"auto"|"kill","path":"/…","property":"ManagedOOMSwap"|
//! "ManagedOOMMemoryPressure","limit":u32}` (`limit` only for memory pressure, scaled so
//! that `u32::MAX` is 100%).
//!
//! Framing: every message is one JSON object followed by a NUL byte. The codec here is
//! pure ([`subscribe_request`], [`encode_reply`], [`parse_message`], [`FrameBuffer`],
//! [`apply_cgroups`]); [`ManagerConnection`] is the non-blocking client socket.
//!
//! # References
//! - <https://varlink.org/Interface-Definition>, <https://varlink.org/Method-Call>

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::policy::limit_from_scaled;
use crate::watch::{PressureWatch, Watch};

/// Where PID 1 serves the protocol (`VARLINK_ADDR_PATH_MANAGED_OOM`, typo included).
pub const MANAGED_OOM_SOCKET: &str = "/run/systemd/io.system.ManagedOOM";
/// The method oomd calls.
pub const SUBSCRIBE_METHOD: &str = "io.systemd.ManagedOOM.SubscribeManagedOOMCGroups";
/// The error PID 1 returns to a second subscriber.
pub const SUBSCRIPTION_TAKEN: &str = "io.systemd.ManagedOOM.SubscriptionTaken";
/// `property` of a swap element.
pub const PROPERTY_SWAP: &str = "ManagedOOMSwap";
/// `property` of a memory-pressure element.
pub const PROPERTY_MEMORY_PRESSURE: &str = "ManagedOOMMemoryPressure";

/// One element of `cgroups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ManagedOomCgroup {
    /// `auto` or `kill`.
    pub mode: String,
    /// The unit's cgroup path.
    pub path: String,
    /// [`PROPERTY_SWAP`] or [`PROPERTY_MEMORY_PRESSURE`].
    pub property: String,
    /// `ManagedOOMMemoryPressureLimit=` scaled to `u32` (memory pressure only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl ManagedOomCgroup {
    /// An element as PID 1 builds it.
    pub fn new(mode: &str, path: &str, property: &str, limit: Option<u32>) -> Self {
        Self {
            mode: mode.to_owned(),
            path: path.to_owned(),
            property: property.to_owned(),
            limit,
        }
    }
}

/// One message from PID 1.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A reply or notification carrying cgroups.
    Cgroups {
        /// The well-formed elements.
        cgroups: Vec<ManagedOomCgroup>,
        /// Elements skipped as malformed.
        malformed: usize,
        /// More messages follow.
        continues: bool,
    },
    /// A varlink error.
    Error {
        /// The error name.
        error: String,
    },
}

/// The protocol failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VarlinkError {
    /// The socket could not be connected, read or written.
    #[error("varlink socket {}", path.display())]
    Io {
        /// The socket.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The peer closed the connection.
    #[error("varlink peer {} closed the connection", path.display())]
    Closed {
        /// The socket.
        path: PathBuf,
    },
    /// A message is not JSON or not an object.
    #[error("malformed varlink message")]
    Json(#[source] serde_json::Error),
    /// A message is JSON but not a varlink reply.
    #[error("malformed varlink message: {0}")]
    Shape(&'static str),
    /// A peer sent more than [`MAX_MESSAGE`] bytes without a terminator.
    #[error("varlink message longer than {MAX_MESSAGE} bytes")]
    TooLong,
}

/// The longest message accepted (systemd's limit is 16 MiB as well).
pub const MAX_MESSAGE: usize = 16 << 20;

fn frame(v: &Value) -> Vec<u8> {
    let mut b = v.to_string().into_bytes();
    b.push(0);
    b
}

/// The subscription call oomd sends, NUL-terminated.
pub fn subscribe_request() -> Vec<u8> {
    frame(&json!({"method": SUBSCRIBE_METHOD, "parameters": {}, "more": true}))
}

/// A reply or notification as PID 1 sends it, NUL-terminated.
pub fn encode_reply(cgroups: &[ManagedOomCgroup], continues: bool) -> Vec<u8> {
    let mut v = json!({"parameters": {"cgroups": cgroups}});
    if continues {
        v["continues"] = Value::Bool(true);
    }
    frame(&v)
}

/// A varlink error reply, NUL-terminated.
pub fn encode_error(error: &str) -> Vec<u8> {
    frame(&json!({"error": error, "parameters": {}}))
}

/// Parses one message (without its NUL).
///
/// # Errors
/// [`VarlinkError::Json`] or [`VarlinkError::Shape`].
pub fn parse_message(bytes: &[u8]) -> Result<Message, VarlinkError> {
    let v: Value = serde_json::from_slice(bytes).map_err(VarlinkError::Json)?;
    let obj = v.as_object().ok_or(VarlinkError::Shape("not an object"))?;
    if let Some(e) = obj.get("error") {
        let error = e
            .as_str()
            .ok_or(VarlinkError::Shape("error is not a string"))?;
        return Ok(Message::Error {
            error: error.to_owned(),
        });
    }
    let continues = obj
        .get("continues")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let list = obj
        .get("parameters")
        .and_then(|p| p.get("cgroups"))
        .and_then(Value::as_array)
        .ok_or(VarlinkError::Shape("no parameters.cgroups array"))?;
    let mut cgroups = Vec::with_capacity(list.len());
    let mut malformed = 0;
    for e in list {
        match serde_json::from_value::<ManagedOomCgroup>(e.clone()) {
            Ok(c) => cgroups.push(c),
            Err(_) => malformed += 1,
        }
    }
    Ok(Message::Cgroups {
        cgroups,
        malformed,
        continues,
    })
}

/// Collects bytes and splits them at NULs.
#[derive(Debug, Default)]
pub struct FrameBuffer {
    buf: Vec<u8>,
}

impl FrameBuffer {
    /// Appends received bytes.
    ///
    /// # Errors
    /// [`VarlinkError::TooLong`] when the unterminated tail exceeds [`MAX_MESSAGE`].
    pub fn push(&mut self, data: &[u8]) -> Result<(), VarlinkError> {
        self.buf.extend_from_slice(data);
        let tail = self
            .buf
            .iter()
            .rposition(|&b| b == 0)
            .map_or(self.buf.len(), |i| self.buf.len() - i - 1);
        if tail > MAX_MESSAGE {
            return Err(VarlinkError::TooLong);
        }
        Ok(())
    }

    /// The next complete message, without its NUL.
    pub fn next_frame(&mut self) -> Option<Vec<u8>> {
        let end = self.buf.iter().position(|&b| b == 0)?;
        let rest = self.buf.split_off(end + 1);
        let mut msg = std::mem::replace(&mut self.buf, rest);
        msg.pop();
        Some(msg)
    }
}

/// Applies PID 1's elements to the manager-supplied watch list, as oomd 248 does: `kill`
/// adds or updates the cgroup for that property, `auto` removes it; for memory pressure a
/// non-zero `limit` overrides the default. Elements with an unknown mode or property or
/// a relative path are skipped; returns how many.
pub fn apply_cgroups(watches: &mut BTreeMap<String, Watch>, cgroups: &[ManagedOomCgroup]) -> usize {
    let mut skipped = 0;
    for c in cgroups {
        let kill = match c.mode.as_str() {
            "kill" => true,
            "auto" => false,
            _ => {
                skipped += 1;
                continue;
            }
        };
        if !c.path.starts_with('/') {
            skipped += 1;
            continue;
        }
        let w = watches
            .entry(c.path.clone())
            .or_insert_with(|| Watch::new(c.path.clone()));
        match c.property.as_str() {
            PROPERTY_SWAP => w.swap = kill,
            PROPERTY_MEMORY_PRESSURE => {
                w.pressure = kill.then(|| PressureWatch {
                    limit: c.limit.and_then(limit_from_scaled),
                    duration: None,
                });
            }
            _ => skipped += 1,
        }
        if !w.is_active() {
            watches.remove(&c.path);
        }
    }
    skipped
}

/// oomd's non-blocking connection to PID 1.
#[derive(Debug)]
pub struct ManagerConnection {
    stream: UnixStream,
    path: PathBuf,
    frames: FrameBuffer,
}

impl ManagerConnection {
    /// Connects to `path` and sends the subscription call.
    ///
    /// # Errors
    /// [`VarlinkError::Io`] when the socket cannot be connected or written.
    pub fn subscribe(path: &Path) -> Result<Self, VarlinkError> {
        let io = |source| VarlinkError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut stream = UnixStream::connect(path).map_err(io)?;
        stream.write_all(&subscribe_request()).map_err(io)?;
        stream.set_nonblocking(true).map_err(io)?;
        Ok(Self {
            stream,
            path: path.to_path_buf(),
            frames: FrameBuffer::default(),
        })
    }

    /// Reads what has arrived without blocking and returns the complete messages.
    ///
    /// # Errors
    /// [`VarlinkError::Closed`] at end of file, [`VarlinkError::Io`] on read errors, or a
    /// parse error.
    pub fn read_messages(&mut self) -> Result<Vec<Message>, VarlinkError> {
        let mut buf = [0u8; 8192];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    return Err(VarlinkError::Closed {
                        path: self.path.clone(),
                    });
                }
                Ok(n) => self.frames.push(&buf[..n])?,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(VarlinkError::Io {
                        path: self.path.clone(),
                        source,
                    });
                }
            }
        }
        let mut out = Vec::new();
        while let Some(f) = self.frames.next_frame() {
            out.push(parse_message(&f)?);
        }
        Ok(out)
    }
}

impl AsFd for ManagerConnection {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::limit_to_scaled;
    use keel_core::size::Permyriad;

    #[test]
    fn request_and_reply_framing() {
        let r = subscribe_request();
        assert_eq!(r.last(), Some(&0));
        let v: Value = serde_json::from_slice(&r[..r.len() - 1]).unwrap();
        assert_eq!(
            v,
            json!({"method": SUBSCRIBE_METHOD, "parameters": {}, "more": true})
        );

        let limit = limit_to_scaled(Permyriad::new(2000).unwrap());
        let mut fb = FrameBuffer::default();
        let mut bytes = encode_reply(
            &[ManagedOomCgroup::new(
                "kill",
                "/w.slice",
                PROPERTY_MEMORY_PRESSURE,
                Some(limit),
            )],
            true,
        );
        bytes.extend_from_slice(
            br#"{"parameters":{"cgroups":[{"mode":"kill","path":"/s.slice","property":"ManagedOOMSwap"},{"mode":1}]},"continues":true}"#,
        );
        bytes.push(0);
        bytes.extend_from_slice(&encode_error(SUBSCRIPTION_TAKEN));
        bytes.extend_from_slice(b"{\"param");
        // Delivered in odd pieces.
        for chunk in bytes.chunks(7) {
            fb.push(chunk).unwrap();
        }
        let msgs: Vec<Message> =
            std::iter::from_fn(|| fb.next_frame().map(|f| parse_message(&f).unwrap())).collect();
        assert_eq!(msgs.len(), 3);
        let Message::Cgroups {
            cgroups,
            malformed: 0,
            continues: true,
        } = &msgs[0]
        else {
            panic!("{msgs:?}")
        };
        assert_eq!(cgroups[0].limit, Some(limit));
        assert!(matches!(&msgs[1], Message::Cgroups { malformed: 1, .. }));
        assert_eq!(
            msgs[2],
            Message::Error {
                error: SUBSCRIPTION_TAKEN.into()
            }
        );
        assert!(fb.next_frame().is_none());
        assert!(parse_message(b"[1]").is_err());
        assert!(parse_message(b"{\"parameters\":{}}").is_err());
        assert!(parse_message(b"not json").is_err());
    }

    #[test]
    fn cgroups_update_the_watch_list() {
        let mut w = BTreeMap::new();
        let limit = limit_to_scaled(Permyriad::new(2000).unwrap());
        let skipped = apply_cgroups(
            &mut w,
            &[
                ManagedOomCgroup::new("kill", "/a.slice", PROPERTY_MEMORY_PRESSURE, Some(limit)),
                ManagedOomCgroup::new("kill", "/a.slice", PROPERTY_SWAP, None),
                ManagedOomCgroup::new("kill", "/b.slice", PROPERTY_MEMORY_PRESSURE, Some(0)),
                ManagedOomCgroup::new("maybe", "/c.slice", PROPERTY_SWAP, None),
                ManagedOomCgroup::new("kill", "rel", PROPERTY_SWAP, None),
                ManagedOomCgroup::new("kill", "/d.slice", "Other", None),
            ],
        );
        assert_eq!(skipped, 3);
        assert_eq!(w.len(), 2, "{w:?}");
        let a = &w["/a.slice"];
        assert!(a.swap);
        assert_eq!(a.pressure.unwrap().limit, Permyriad::new(2000));
        assert_eq!(w["/b.slice"].pressure.unwrap().limit, None);
        // The unit stops: PID 1 sends both properties with mode auto.
        apply_cgroups(
            &mut w,
            &[
                ManagedOomCgroup::new("auto", "/a.slice", PROPERTY_SWAP, None),
                ManagedOomCgroup::new("auto", "/a.slice", PROPERTY_MEMORY_PRESSURE, Some(0)),
            ],
        );
        assert!(!w.contains_key("/a.slice"));
    }
}
