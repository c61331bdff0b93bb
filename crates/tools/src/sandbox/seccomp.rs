//! The seccomp filter the helper installs on itself before it executes anything.
//!
//! Refused with `EPERM`, on every backend: typing into the terminal (`TIOCSTI`,
//! `TIOCLINUX`), io_uring (its operations would bypass this filter), kernel modules,
//! kexec, reboot, swap, BPF, the kernel keyring, port I/O, the clock, the host name,
//! opening files by handle (past path checks), fanotify and quotas. With the network
//! off (Landlock backend; bubblewrap uses a network namespace instead): any socket that is
//! not a Unix socket. The filter checks the architecture first and kills a process that
//! makes a system call of another one (32-bit calls on x86-64), so the numbers cannot be
//! dodged; x32 numbers of the refused calls are refused too.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use super::SandboxError;

fn err(e: impl std::fmt::Display) -> SandboxError {
    SandboxError::Seccomp(e.to_string())
}

/// System calls no command in the sandbox may make.
const DENIED: &[libc::c_long] = &[
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_bpf,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_keyctl,
    libc::SYS_acct,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_clock_adjtime,
    libc::SYS_adjtimex,
    libc::SYS_sethostname,
    libc::SYS_setdomainname,
    libc::SYS_open_by_handle_at,
    libc::SYS_fanotify_init,
    libc::SYS_quotactl,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_iopl,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_ioperm,
];

/// On x86-64 the x32 ABI numbers its calls with this bit set, through the same
/// architecture check: each refused call is refused under its x32 number too.
#[cfg(target_arch = "x86_64")]
const X32_BIT: i64 = 0x4000_0000;

fn arch() -> Result<TargetArch, SandboxError> {
    TargetArch::try_from(std::env::consts::ARCH).map_err(err)
}

fn cond(
    arg: u8,
    len: SeccompCmpArgLen,
    op: SeccompCmpOp,
    value: u64,
) -> Result<SeccompCondition, SandboxError> {
    SeccompCondition::new(arg, len, op, value).map_err(err)
}

/// Adds `nr` (and its x32 twin) with `rules` to the map.
// `c_long` is `i64` on the 64-bit targets seccompiler supports, but not everywhere.
#[allow(clippy::useless_conversion)]
fn insert(map: &mut BTreeMap<i64, Vec<SeccompRule>>, nr: libc::c_long, rules: Vec<SeccompRule>) {
    #[cfg(target_arch = "x86_64")]
    map.insert(i64::from(nr) | X32_BIT, rules.clone());
    map.insert(i64::from(nr), rules);
}

/// Builds the filter. `network` false also refuses every non-Unix socket.
pub(crate) fn program(network: bool) -> Result<BpfProgram, SandboxError> {
    let mut map = BTreeMap::new();
    for nr in DENIED {
        insert(&mut map, *nr, Vec::new());
    }
    // The request is an `unsigned long` the kernel compares as 32 bits.
    let ioctl_rules = [libc::TIOCSTI, libc::TIOCLINUX]
        .into_iter()
        .map(|request| {
            let condition = cond(
                1,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::Eq,
                u64::from(request as u32),
            )?;
            SeccompRule::new(vec![condition]).map_err(err)
        })
        .collect::<Result<Vec<_>, _>>()?;
    insert(&mut map, libc::SYS_ioctl, ioctl_rules.clone());
    #[cfg(target_arch = "x86_64")]
    {
        // x32 has its own ioctl entry point (compat_sys_ioctl).
        map.insert(X32_BIT | 514, ioctl_rules);
    }
    if !network {
        let not_unix = cond(
            0,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::Ne,
            libc::AF_UNIX as u64,
        )?;
        let rule = SeccompRule::new(vec![not_unix]).map_err(err)?;
        insert(&mut map, libc::SYS_socket, vec![rule.clone()]);
        insert(&mut map, libc::SYS_socketpair, vec![rule]);
    }
    let filter = SeccompFilter::new(
        map,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch()?,
    )
    .map_err(err)?;
    filter.try_into().map_err(err)
}

/// Installs the filter on this thread (the helper has no other) and sets
/// `no_new_privs`.
pub(crate) fn install(network: bool) -> Result<(), SandboxError> {
    let program = program(network)?;
    seccompiler::apply_filter(&program).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_filters_compile() {
        assert!(!program(true).unwrap().is_empty());
        assert!(program(false).unwrap().len() > program(true).unwrap().len());
    }
}
