//! Generic netlink: resolving a family's id through nlctrl (`CTRL_CMD_GETFAMILY`).
//!
//! # References
//! - <https://docs.kernel.org/userspace-api/netlink/intro.html#generic-netlink>
//! - `<linux/genetlink.h>`

use crate::error::RequestError;
use crate::socket::{Request, Socket};
use crate::wire::{self, GenlHeader, NlmFlags};

/// `GENL_ID_CTRL`: nlctrl's fixed family id.
pub const GENL_ID_CTRL: u16 = 0x10;
/// `CTRL_CMD_NEWFAMILY` (the reply).
pub const CTRL_CMD_NEWFAMILY: u8 = 1;
/// `CTRL_CMD_GETFAMILY`.
pub const CTRL_CMD_GETFAMILY: u8 = 3;
/// `CTRL_ATTR_FAMILY_ID` (u16).
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// `CTRL_ATTR_FAMILY_NAME` (string).
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// `CTRL_ATTR_VERSION` (u32).
pub const CTRL_ATTR_VERSION: u16 = 3;
/// `CTRL_ATTR_MCAST_GROUPS` (nested).
pub const CTRL_ATTR_MCAST_GROUPS: u16 = 7;
/// `CTRL_ATTR_MCAST_GRP_NAME`.
pub const CTRL_ATTR_MCAST_GRP_NAME: u16 = 1;
/// `CTRL_ATTR_MCAST_GRP_ID`.
pub const CTRL_ATTR_MCAST_GRP_ID: u16 = 2;

/// A resolved generic netlink family.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Family {
    /// Its name.
    pub name: String,
    /// The id to use as `nlmsg_type` (assigned at module load, differs between boots).
    pub id: u16,
    /// The family's version.
    pub version: u32,
    /// Multicast groups: name and id.
    pub multicast_groups: Vec<(String, u32)>,
}

impl Family {
    /// Decodes a `CTRL_CMD_NEWFAMILY` genl payload.
    ///
    /// # Errors
    /// A [`wire::WireError`] for malformed attributes, or when the id is missing.
    pub fn parse(payload: &[u8]) -> Result<Family, wire::WireError> {
        let (_, rest) = GenlHeader::parse(payload)?;
        let mut family = Family::default();
        let mut have_id = false;
        for attr in wire::attrs(rest) {
            let attr = attr?;
            match attr.kind {
                CTRL_ATTR_FAMILY_ID => {
                    family.id = attr.as_u16()?;
                    have_id = true;
                }
                CTRL_ATTR_FAMILY_NAME => family.name = attr.as_str()?.to_owned(),
                CTRL_ATTR_VERSION => family.version = attr.as_u32()?,
                CTRL_ATTR_MCAST_GROUPS => {
                    for group in attr.nested() {
                        let (mut name, mut id) = (None, None);
                        for a in group?.nested() {
                            let a = a?;
                            match a.kind {
                                CTRL_ATTR_MCAST_GRP_NAME => name = Some(a.as_str()?.to_owned()),
                                CTRL_ATTR_MCAST_GRP_ID => id = Some(a.as_u32()?),
                                _ => {}
                            }
                        }
                        if let (Some(n), Some(i)) = (name, id) {
                            family.multicast_groups.push((n, i));
                        }
                    }
                }
                _ => {}
            }
        }
        if !have_id {
            return Err(wire::WireError::Truncated {
                what: "CTRL_ATTR_FAMILY_ID",
                offset: 0,
            });
        }
        Ok(family)
    }
}

/// `CTRL_CMD_GETFAMILY` for `name` (version 1, as libnl and batctl send it).
pub fn get_family(name: &str) -> Request {
    let mut payload = Vec::with_capacity(12 + name.len());
    GenlHeader::new(CTRL_CMD_GETFAMILY, 1).emit(&mut payload);
    wire::put_str(&mut payload, CTRL_ATTR_FAMILY_NAME, name);
    Request::new(
        GENL_ID_CTRL,
        NlmFlags::empty(),
        payload,
        format!("CTRL_CMD_GETFAMILY {name}"),
    )
}

impl Socket {
    /// Resolves a generic netlink family by name.
    ///
    /// # Errors
    /// [`RequestError::Kernel`] with `ENOENT` when the family is not registered (for
    /// batadv: the module is not loaded), or a transport error.
    pub fn resolve_family(&mut self, name: &str) -> Result<Family, RequestError> {
        let req = get_family(name);
        let replies = self.execute(&req)?;
        let reply = replies
            .iter()
            .find(|m| m.header.message_type == GENL_ID_CTRL)
            .ok_or_else(|| RequestError::NotFound {
                request: req.description.clone(),
            })?;
        Family::parse(&reply.payload).map_err(|source| RequestError::Malformed {
            request: req.description,
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nlctrl_resolves_itself_unprivileged() {
        let mut s = Socket::generic().unwrap();
        let f = s.resolve_family("nlctrl").unwrap();
        assert_eq!(f.id, GENL_ID_CTRL);
        assert!(f.multicast_groups.iter().any(|(n, _)| n == "notify"));
        let e = s.resolve_family("no-such-family").unwrap_err();
        assert_eq!(e.errno(), Some(nix::errno::Errno::ENOENT));
        assert_eq!(e.request(), "CTRL_CMD_GETFAMILY no-such-family");
    }

    #[test]
    fn parse_rejects_missing_id() {
        let mut p = Vec::new();
        GenlHeader::new(1, 2).emit(&mut p);
        wire::put_str(&mut p, CTRL_ATTR_FAMILY_NAME, "x");
        assert!(Family::parse(&p).is_err());
        assert!(Family::parse(&[1]).is_err());
    }
}
