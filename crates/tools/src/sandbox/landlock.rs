//! The Landlock half of the Landlock backend: read everywhere, write beneath the
//! planned paths, and (from ABI 4 and 6) no TCP, no abstract Unix sockets outside the
//! sandbox and no signals to processes outside it.

use std::path::PathBuf;

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, LandlockStatus,
    PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};

use super::SandboxError;
use super::plan::WRITABLE_DEVICES;

/// The newest ABI this crate knows; the kernel's own decides what is enforced.
const ABI_WANTED: ABI = ABI::V10;

/// What to enforce.
pub(crate) struct Rules {
    pub writable: Vec<PathBuf>,
    pub network: bool,
}

fn err(e: impl std::fmt::Display) -> SandboxError {
    SandboxError::Landlock(e.to_string())
}

/// Restricts this (single-threaded) process and everything it executes.
pub(crate) fn restrict_self(rules: &Rules) -> Result<(), SandboxError> {
    let handled = AccessFs::from_all(ABI_WANTED);
    // Never granted, even where writing is: a device node made in the project would
    // open the device behind it (a disk, for root) to writes.
    let all = handled & !(AccessFs::MakeChar | AccessFs::MakeBlock);
    let mut read = AccessFs::from_read(ABI_WANTED);
    if rules.network {
        // Connecting to Unix sockets (ABI 9) counts as network: allowed everywhere when
        // the network is, and otherwise only beneath the writable paths.
        read |= AccessFs::ResolveUnix;
    }
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(handled)
        .map_err(err)?
        .scope(Scope::Signal)
        .map_err(err)?;
    if !rules.network {
        ruleset = ruleset
            .handle_access(AccessNet::from_all(ABI_WANTED))
            .map_err(err)?
            .scope(Scope::AbstractUnixSocket)
            .map_err(err)?;
    }
    let mut created = ruleset.create().map_err(err)?;
    created = created
        .add_rule(PathBeneath::new(PathFd::new("/").map_err(err)?, read))
        .map_err(err)?;
    let writable = rules.writable.iter().map(|p| (p.as_path(), all)).chain(
        WRITABLE_DEVICES
            .iter()
            .map(|d| (std::path::Path::new(*d), AccessFs::from_file(ABI_WANTED))),
    );
    for (path, access) in writable {
        // A path that vanished since it was listed is simply not granted.
        let Ok(fd) = PathFd::new(path) else { continue };
        let access: BitFlags<AccessFs> = if path.is_dir() {
            access
        } else {
            access & AccessFs::from_file(ABI_WANTED)
        };
        created = created
            .add_rule(PathBeneath::new(fd, access))
            .map_err(err)?;
    }
    let status = created.restrict_self().map_err(err)?;
    match (status.ruleset, status.landlock) {
        (RulesetStatus::NotEnforced, LandlockStatus::NotEnabled) => Err(
            SandboxError::LandlockUnavailable("the kernel has it but it is not enabled: add `landlock` to the `lsm=` boot parameter".into()),
        ),
        (RulesetStatus::NotEnforced, LandlockStatus::NotImplemented) => {
            Err(SandboxError::LandlockUnavailable(
                "this kernel was built without it; Landlock needs Linux 5.13 or later".into(),
            ))
        }
        (RulesetStatus::NotEnforced, _) => Err(SandboxError::LandlockUnavailable(
            "the ruleset was not enforced".into(),
        )),
        // Older ABIs leave some rights unrestricted (truncate before ABI 3, TCP before
        // ABI 4), but writing, creating and removing files is always enforced; seccomp
        // covers the network.
        (RulesetStatus::PartiallyEnforced | RulesetStatus::FullyEnforced, _) => {
            if status.no_new_privs {
                Ok(())
            } else {
                Err(err("no_new_privs could not be set"))
            }
        }
    }
}
