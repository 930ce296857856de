//! Reading the kernel's state and applying a plan: the I/O half of the engine.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Op, Phase, Plan, State, plan};
use crate::batadv::Batadv;
use crate::config::{Diagnostic, NetworkdConfig};
use crate::error::{RequestError, SocketError};
use crate::monitor::{Event, Groups, Monitor};
use crate::socket::{Request, Socket};
use crate::{address, link, route};

/// One operation of a plan failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// A link the operation names does not exist (its creation failed, or it vanished).
    #[error("{op}: no link called {link}")]
    UnknownLink {
        /// The operation.
        op: String,
        /// The missing link.
        link: String,
    },
    /// The kernel (or the socket) refused the request.
    #[error("{op}")]
    Request {
        /// The operation.
        op: String,
        /// The failure.
        #[source]
        source: RequestError,
    },
}

/// The outcome of one operation.
#[derive(Debug)]
#[non_exhaustive]
pub struct OpResult {
    /// The operation.
    pub op: Op,
    /// What happened.
    pub result: Result<(), ApplyError>,
}

/// What a reconciliation did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Report {
    /// Every operation applied, over all rounds, in order.
    pub results: Vec<OpResult>,
    /// The planner's notes (conflicting links it left alone).
    pub diagnostics: Vec<Diagnostic>,
    /// Rounds of plan → apply (a link created in one round may match a `.network` by a
    /// property only known once it exists, such as its driver).
    pub rounds: usize,
    /// What would still be done: empty when the kernel matches the files.
    pub remaining: Plan,
}

impl Report {
    /// The failed operations.
    pub fn failures(&self) -> impl Iterator<Item = &ApplyError> {
        self.results.iter().filter_map(|r| r.result.as_ref().err())
    }

    /// Whether every operation succeeded and nothing remains to do.
    pub fn is_clean(&self) -> bool {
        self.failures().next().is_none() && self.remaining.is_empty()
    }
}

/// Dumps links, addresses and routes through `route`, the driver of each link, and, for
/// batadv links, their mesh options through `batadv` (opened on first need; left
/// `None` when batman-adv is not loaded).
///
/// # Errors
/// A failed dump.
pub fn read_state(route: &mut Socket, batadv: &mut Option<Batadv>) -> Result<State, RequestError> {
    let links = route.links()?;
    let addresses = route.addresses()?;
    let mut routes = route.routes(false)?;
    routes.extend(route.routes(true)?);
    let mut state = State {
        links,
        addresses,
        routes,
        ..State::default()
    };
    for l in &state.links {
        if let Ok(d) = link::driver(&l.name) {
            state.drivers.insert(l.index, d);
        }
    }
    let batadv_links: Vec<u32> = state
        .links
        .iter()
        .filter(|l| l.kind.as_deref() == Some("batadv"))
        .map(|l| l.index)
        .collect();
    if !batadv_links.is_empty() {
        if batadv.is_none() {
            *batadv = Batadv::open().ok();
        }
        if let Some(b) = batadv.as_mut() {
            for index in batadv_links {
                if let Ok(info) = b.mesh(index) {
                    state.meshes.insert(index, info.settings);
                }
            }
        }
    }
    Ok(state)
}

fn link_names(route: &mut Socket) -> Result<BTreeMap<String, u32>, RequestError> {
    Ok(route
        .links()?
        .into_iter()
        .map(|l| (l.name, l.index))
        .collect())
}

/// Builds the request of a non-mesh op, resolving link names through `index`.
fn request(op: &Op, index: &BTreeMap<String, u32>) -> Result<Request, ApplyError> {
    let resolve = |name: &str| {
        index
            .get(name)
            .copied()
            .ok_or_else(|| ApplyError::UnknownLink {
                op: op.to_string(),
                link: name.to_owned(),
            })
    };
    let req = match op {
        Op::CreateNetDev { netdev, parent } => {
            let parent = parent.as_deref().map(resolve).transpose()?;
            let spec = netdev
                .link_spec(parent)
                .ok_or_else(|| ApplyError::UnknownLink {
                    op: op.to_string(),
                    link: netdev.name.clone(),
                })?;
            link::create(&spec, None)
        }
        Op::SetMtu { link: l, mtu } => {
            let c = link::LinkChange {
                mtu: Some(*mtu),
                ..link::LinkChange::default()
            };
            link::set(resolve(l)?, &c)
        }
        Op::SetMac { link: l, mac } => {
            let c = link::LinkChange {
                mac: Some(*mac),
                ..link::LinkChange::default()
            };
            link::set(resolve(l)?, &c)
        }
        Op::SetMaster { link: l, master } => {
            let c = link::LinkChange {
                master: Some(resolve(master)?),
                ..link::LinkChange::default()
            };
            link::set(resolve(l)?, &c)
        }
        Op::SetUp { link: l } => {
            let c = link::LinkChange {
                up: Some(true),
                ..link::LinkChange::default()
            };
            link::set(resolve(l)?, &c)
        }
        Op::SetDown { link: l } => {
            let c = link::LinkChange {
                up: Some(false),
                ..link::LinkChange::default()
            };
            link::set(resolve(l)?, &c)
        }
        Op::AddAddress {
            link: l,
            address: a,
        } => {
            let mut a = a.clone();
            a.index = resolve(l)?;
            address::replace(&a)
        }
        Op::DeleteAddress { address: a, .. } => address::delete(a),
        Op::DeleteRoute { route: r, .. } => route::delete(r),
        Op::AddRoute { link: l, route: r } => {
            let mut r = r.clone();
            r.oif = Some(resolve(l)?);
            route::replace(&r)
        }
        Op::SetMesh { link: l, .. } => {
            return Err(ApplyError::UnknownLink {
                op: op.to_string(),
                link: l.clone(),
            });
        }
    };
    Ok(req)
}

/// Applies `plan` in phases: creations (one batch), stacked creations (one batch), link
/// settings, addresses and routes (one batch), then batadv mesh options over generic
/// netlink. Names are resolved to indexes before each phase. A refused operation does
/// not stop the others.
///
/// # Errors
/// A transport failure (send, receive, a dump), after which the outcome of the rest is
/// unknown.
pub fn apply(
    plan: &Plan,
    route: &mut Socket,
    batadv: &mut Option<Batadv>,
) -> Result<Vec<OpResult>, RequestError> {
    let mut results = Vec::with_capacity(plan.ops.len());
    if plan.ops.is_empty() {
        return Ok(results);
    }
    let mut index = link_names(route)?;
    let mut start = 0;
    while start < plan.ops.len() {
        let phase = plan.ops[start].phase();
        let end = plan.ops[start..]
            .iter()
            .position(|op| op.phase() != phase)
            .map_or(plan.ops.len(), |n| start + n);
        let ops = &plan.ops[start..end];
        if phase == Phase::Mesh {
            for op in ops {
                let result = apply_mesh(op, &index, batadv);
                results.push(OpResult {
                    op: op.clone(),
                    result,
                });
            }
        } else {
            let built: Vec<Result<Request, ApplyError>> =
                ops.iter().map(|op| request(op, &index)).collect();
            let requests: Vec<Request> = built
                .iter()
                .filter_map(|r| r.as_ref().ok().cloned())
                .collect();
            let mut acks = route.batch(&requests)?.into_iter();
            for (op, built) in ops.iter().zip(built) {
                let result = match built {
                    Err(e) => Err(e),
                    Ok(_) => match acks.next() {
                        Some(Ok(())) | None => Ok(()),
                        Some(Err(source)) => Err(ApplyError::Request {
                            op: op.to_string(),
                            source,
                        }),
                    },
                };
                results.push(OpResult {
                    op: op.clone(),
                    result,
                });
            }
            if matches!(phase, Phase::CreateStandalone | Phase::CreateStacked) {
                index = link_names(route)?;
            }
        }
        start = end;
    }
    Ok(results)
}

fn apply_mesh(
    op: &Op,
    index: &BTreeMap<String, u32>,
    batadv: &mut Option<Batadv>,
) -> Result<(), ApplyError> {
    let Op::SetMesh { link, settings } = op else {
        return Ok(());
    };
    let ifindex = index
        .get(link)
        .copied()
        .ok_or_else(|| ApplyError::UnknownLink {
            op: op.to_string(),
            link: link.clone(),
        })?;
    if batadv.is_none() {
        *batadv = Some(Batadv::open().map_err(|source| ApplyError::Request {
            op: op.to_string(),
            source,
        })?);
    }
    let Some(b) = batadv.as_mut() else {
        return Ok(());
    };
    b.set_mesh(ifindex, settings)
        .map_err(|source| ApplyError::Request {
            op: op.to_string(),
            source,
        })
}

/// At most this many plan → apply rounds per reconciliation.
const MAX_ROUNDS: usize = 3;

/// The engine with its sockets: loads nothing itself, holds the configuration it was
/// given, and reconciles all links or one.
#[derive(Debug)]
pub struct Reconciler {
    config: NetworkdConfig,
    route: Socket,
    batadv: Option<Batadv>,
}

impl Reconciler {
    /// Opens the rtnetlink socket in the calling thread's network namespace.
    ///
    /// # Errors
    /// [`SocketError`].
    pub fn new(config: NetworkdConfig) -> Result<Reconciler, SocketError> {
        Ok(Reconciler {
            config,
            route: Socket::route()?,
            batadv: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &NetworkdConfig {
        &self.config
    }

    /// Reads the kernel's state.
    ///
    /// # Errors
    /// A failed dump.
    pub fn state(&mut self) -> Result<State, RequestError> {
        read_state(&mut self.route, &mut self.batadv)
    }

    /// What would be done now for every link, without doing it.
    ///
    /// # Errors
    /// A failed dump.
    pub fn plan(&mut self) -> Result<Plan, RequestError> {
        let state = self.state()?;
        Ok(plan(&self.config, &state))
    }

    /// Makes every link match the files.
    ///
    /// # Errors
    /// A transport failure; refused operations are in the [`Report`].
    pub fn reconcile_all(&mut self) -> Result<Report, RequestError> {
        self.reconcile(None, None)
    }

    /// Redoes what concerns link `name` ([`Plan::for_link`]): after it appeared or
    /// changed.
    ///
    /// # Errors
    /// A transport failure; refused operations are in the [`Report`].
    pub fn reconcile_link(&mut self, name: &str) -> Result<Report, RequestError> {
        self.reconcile(Some(name), None)
    }

    /// The plan for every link, or only for link `only`.
    fn plan_for(&mut self, only: Option<&str>) -> Result<Plan, RequestError> {
        let p = self.plan()?;
        Ok(match only {
            Some(name) => p.for_link(name),
            None => p,
        })
    }

    /// Plan → apply rounds; the first round uses `first` when the caller has just made it
    /// (no second dump of the kernel's state).
    fn reconcile(
        &mut self,
        only: Option<&str>,
        mut first: Option<Plan>,
    ) -> Result<Report, RequestError> {
        let mut report = Report::default();
        loop {
            let mut p = match first.take() {
                Some(p) => p,
                None => self.plan_for(only)?,
            };
            if report.rounds == 0 {
                report.diagnostics = std::mem::take(&mut p.diagnostics);
            }
            let failed_before = report.failures().count();
            if p.is_empty() || report.rounds == MAX_ROUNDS {
                report.remaining = p;
                return Ok(report);
            }
            report.rounds += 1;
            report
                .results
                .extend(apply(&p, &mut self.route, &mut self.batadv)?);
            if report.failures().count() > failed_before {
                // Do not retry what the kernel refused; say what is left.
                let mut rest = self.plan_for(only)?;
                rest.diagnostics.clear();
                report.remaining = rest;
                return Ok(report);
            }
        }
    }

    /// The daemon loop: subscribes to `RTNLGRP_LINK`, reconciles everything, then
    /// reconciles each link that appears or changes. `on_report` hears about every
    /// reconciliation that did something (`None`: the full one). Returns only on a
    /// transport failure.
    ///
    /// A link whose plan failed is not retried until its plan changes, so a refused
    /// operation does not loop on the events it causes.
    ///
    /// # Errors
    /// The monitor or a dump failed.
    pub fn watch(
        &mut self,
        mut on_report: impl FnMut(Option<&str>, &Report),
    ) -> Result<(), RequestError> {
        let mut monitor = Monitor::open(Groups::LINK).map_err(|source| RequestError::Socket {
            request: "RTNLGRP_LINK subscription".to_owned(),
            source,
        })?;
        let report = self.reconcile_all()?;
        on_report(None, &report);
        let mut failed: BTreeMap<String, Vec<String>> = BTreeMap::new();
        loop {
            let mut changed = Vec::new();
            let mut lost = false;
            let mut timeout = None;
            loop {
                match monitor.receive(timeout) {
                    Ok(events) if events.is_empty() => break,
                    Ok(events) => {
                        for ev in events {
                            if let Event::NewLink(l) = ev {
                                if !changed.contains(&l.name) {
                                    changed.push(l.name);
                                }
                            }
                        }
                    }
                    Err(e) if e.errno() == Some(nix::errno::Errno::ENOBUFS) => lost = true,
                    Err(RequestError::Receive {
                        source: nix::errno::Errno::ENOBUFS,
                        ..
                    }) => lost = true,
                    Err(e) => return Err(e),
                }
                // Collect what arrives within 50 ms as one change.
                timeout = Some(Duration::from_millis(50));
            }
            if lost {
                let report = self.reconcile_all()?;
                on_report(None, &report);
                failed.clear();
                continue;
            }
            for name in changed {
                let p = self.plan_for(Some(&name))?;
                if p.is_empty() {
                    failed.remove(&name);
                    continue;
                }
                let ops: Vec<String> = p.ops.iter().map(ToString::to_string).collect();
                if failed.get(&name) == Some(&ops) {
                    continue;
                }
                let report = self.reconcile(Some(&name), Some(p))?;
                if report.is_clean() {
                    failed.remove(&name);
                } else {
                    failed.insert(name.clone(), ops);
                }
                on_report(Some(&name), &report);
            }
        }
    }
}
