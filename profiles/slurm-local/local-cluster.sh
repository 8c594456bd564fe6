#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, from Debian's packages, to run the workflow
# through the Slurm executor against a real slurmctld and slurmd (profile: profiles/slurm-local;
# test: tests/test_slurm.py). A test bed, not a production cluster: no accounting (no slurmdbd),
# one partition, this machine as controller and only compute node.
#
#   profiles/slurm-local/local-cluster.sh up      install, configure, start, wait for the idle node
#   profiles/slurm-local/local-cluster.sh status  daemons and node; exit 0 when jobs can run
#   profiles/slurm-local/local-cluster.sh down    stop slurmd, slurmctld and munged
#
# `up` and `down` run as root on Debian or Ubuntu (apt-get); both may be repeated. `up` installs
# slurmctld, slurmd, slurm-client and munge when missing, creates a munge key when there is none,
# writes /etc/slurm/slurm.conf for this host (its name, `nproc` CPUs, its memory less headroom),
# (re)starts the daemons when they are down or the configuration changed, waits until `sinfo`
# shows the node idle and runs a one-CPU job through srun. An /etc/slurm/slurm.conf this script
# did not write is never overwritten: `up` stops and says so.
#
# Environment:
#   SLURM_LOCAL_TIMEOUT      seconds to wait for the node to become idle (default 60)
#   SLURM_LOCAL_HEADROOM_MB  memory kept from Slurm (default: 10% of RAM, at least 1024 MB)
#   SLURM_LOCAL_CGROUP       auto (default): cgroup process tracking if a job runs with it,
#                            otherwise proctrack/linuxproc + task/none (containers often refuse
#                            cgroups); yes: cgroup or fail; no: never cgroup
set -euo pipefail

PACKAGES=(slurmctld slurmd slurm-client munge)
CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
CGROUP_CONF="$CONF_DIR/cgroup.conf"
MARK="# written by hubanatomy profiles/slurm-local/local-cluster.sh"
MUNGE_KEY=/etc/munge/munge.key
MUNGE_PID=/run/munge/munged.pid
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
LOG_DIR=/var/log/slurm
STATE_DIR=/var/lib/slurm/slurmctld
SPOOL_DIR=/var/lib/slurm/slurmd
PARTITION=local
TIMEOUT="${SLURM_LOCAL_TIMEOUT:-60}"
CGROUP="${SLURM_LOCAL_CGROUP:-auto}"
START=$SECONDS

say() { echo "local-cluster: $*"; }
die() {
    echo "local-cluster: ERROR: $*" >&2
    exit 1
}
elapsed() { echo "$((SECONDS - START)) s"; }

node_name() { hostname -s; }

need_root() {
    [[ $(id -u) -eq 0 ]] || die "'$1' must run as root (it installs packages and starts and stops \
system daemons); run it as root, e.g. sudo $0 $1"
}

need_apt() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script sets Slurm up \
from Debian/Ubuntu packages (${PACKAGES[*]}); on other systems install and start Slurm yourself"
}

# -- processes --------------------------------------------------------------------------------

pid_of() { # the pid a pid file records, if that process lives and is the named daemon
    local file=$1 name=$2 pid
    [[ -s $file ]] || return 1
    pid=$(tr -dc '0-9' <"$file")
    [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]] && echo "$pid"
}

stop_pid_file() { # stop the daemon a pid file names, by its pid; wait until it is gone
    local name=$1 file=$2 pid
    if ! pid=$(pid_of "$file" "$name"); then
        say "$name is not running"
        return 0
    fi
    kill -TERM "$pid"
    for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || {
            say "$name stopped (pid $pid)"
            return 0
        }
        sleep 0.5
    done
    die "$name (pid $pid) did not stop within 30 s after SIGTERM; stop it by hand: kill -9 $pid"
}

log_tail() { # the last lines of a log, indented, for an error message
    [[ -r $1 ]] && { echo "--- last lines of $1:"; tail -n "${2:-15}" "$1" | sed 's/^/    /'; }
    return 0
}

# -- install and munge ------------------------------------------------------------------------

install_packages() {
    local missing=() package t0=$SECONDS
    for package in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$package")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        say "packages present: ${PACKAGES[*]}"
        return 0
    fi
    say "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null || die "apt-get update failed (no network or a broken \
apt source?); the packages ${missing[*]} are needed"
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
        die "apt-get install ${missing[*]} failed (see apt-get's message above)"
    say "installed ${missing[*]} in $((SECONDS - t0)) s"
}

start_munge() {
    if [[ ! -s $MUNGE_KEY ]]; then
        say "creating the munge key $MUNGE_KEY"
        mkdir -p "$(dirname "$MUNGE_KEY")"
        mungekey --create --force --keyfile="$MUNGE_KEY" || die "mungekey could not create \
$MUNGE_KEY"
    fi
    chown munge:munge "$MUNGE_KEY"
    chmod 0400 "$MUNGE_KEY"
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        say "munged is running"
        return 0
    fi
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
    runuser -u munge -- /usr/sbin/munged || {
        log_tail /var/log/munge/munged.log >&2
        die "munged did not start (its log is above)"
    }
    for _ in $(seq 1 20); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && {
            say "munged started (pid $(pid_of "$MUNGE_PID" munged || echo '?'))"
            return 0
        }
        sleep 0.5
    done
    log_tail /var/log/munge/munged.log >&2
    die "munged runs but credentials do not round-trip (munge -n | unmunge fails)"
}

# -- configuration ----------------------------------------------------------------------------

write_conf() { # write slurm.conf for mode cgroup|plain; prints "changed" when it changed
    local mode=$1 node cpus mem_mb headroom real tmp proctrack task file
    node=$(node_name)
    cpus=$(nproc)
    mem_mb=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024))
    headroom=${SLURM_LOCAL_HEADROOM_MB:-$((mem_mb / 10 > 1024 ? mem_mb / 10 : 1024))}
    real=$((mem_mb - headroom))
    ((real >= 512)) || die "too little memory for Slurm: ${mem_mb} MB total, ${headroom} MB \
headroom (SLURM_LOCAL_HEADROOM_MB)"
    if [[ $mode == cgroup ]]; then
        proctrack=proctrack/cgroup
        task=task/cgroup,task/affinity
    else
        proctrack=proctrack/linuxproc
        task=task/none
    fi
    for file in "$CONF" "$CGROUP_CONF"; do
        if [[ -e $file ]] && ! grep -qxF "$MARK" "$file"; then
            die "$file exists and was not written by this script: this machine has a Slurm \
configuration of its own, which is left alone. Move it away to use the local test cluster."
        fi
    done
    mkdir -p "$CONF_DIR"
    tmp=$(mktemp)
    cat >"$tmp" <<EOF
$MARK
# A single-node test cluster; rewritten by every 'up' (hand edits are lost).
# Host $node: $cpus CPUs (nproc), ${mem_mb} MB RAM of which ${headroom} MB are kept from Slurm.
ClusterName=hubanatomy-local
SlurmctldHost=$node(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=$STATE_DIR
SlurmdSpoolDir=$SPOOL_DIR
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no accounting: no slurmdbd, so sacct has nothing to say; status comes from squeue
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# finished jobs stay visible to squeue for an hour (Snakemake's status checks, the test)
MinJobAge=3600
# several 1-CPU jobs share the node; memory requests count
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
# process tracking: $mode (SLURM_LOCAL_CGROUP: auto tries cgroup, falls back to plain)
ProctrackType=$proctrack
TaskPlugin=$task
MpiDefault=none
ReturnToService=2
# the node as configured here, even if slurmd sees different hardware (containers)
SlurmdParameters=config_overrides
SlurmdTimeout=60
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$real State=UNKNOWN
PartitionName=$PARTITION Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
    # slurmd loads the cgroup plugin whenever cgroup.conf exists: only the cgroup mode has one
    if [[ $mode == cgroup ]]; then
        printf '%s\nCgroupPlugin=autodetect\nConstrainCores=yes\nConstrainRAMSpace=yes\n' \
            "$MARK" >"$CGROUP_CONF"
    else
        rm -f "$CGROUP_CONF"
    fi
    if [[ -e $CONF ]] && cmp -s "$tmp" "$CONF"; then
        rm -f "$tmp"
    else
        install -m 0644 "$tmp" "$CONF"
        rm -f "$tmp"
        echo changed
    fi
}

conf_mode() { # the mode of the configuration written last: cgroup, plain or nothing
    [[ -r $CONF ]] && grep -qxF "$MARK" "$CONF" || return 0
    grep -q '^ProctrackType=proctrack/cgroup' "$CONF" && echo cgroup || echo plain
}

# -- daemons ----------------------------------------------------------------------------------

start_slurm() { # start slurmctld and slurmd unless running; wait for an idle node
    local t0=$SECONDS node state
    node=$(node_name)
    install -d -o slurm -g slurm -m 0755 "$STATE_DIR" "$LOG_DIR"
    install -d -m 0755 "$SPOOL_DIR"
    start_daemon slurmctld "$CTLD_PID"
    start_daemon slurmd "$SLURMD_PID"
    local resumed=0
    while ((SECONDS - t0 < TIMEOUT)); do
        for daemon in slurmctld:$CTLD_PID slurmd:$SLURMD_PID; do
            pid_of "${daemon#*:}" "${daemon%%:*}" >/dev/null || {
                log_tail "$LOG_DIR/${daemon%%:*}.log" >&2
                die "${daemon%%:*} exited after starting (its log is above)"
            }
        done
        state=$(sinfo -h -n "$node" -o %T 2>/dev/null || true)
        case $state in
        idle | mixed | allocated | completing)
            say "node $node is $state after $((SECONDS - t0)) s"
            return 0
            ;;
        *drain* | down*)
            # a node left down or drained by an earlier run (or our restart): once, resume it
            if ((resumed == 0 && SECONDS - t0 > 5)); then
                scontrol update nodename="$node" state=resume 2>/dev/null || true
                resumed=1
            fi
            ;;
        esac
        sleep 1
    done
    {
        echo "--- sinfo:"
        sinfo -N -l 2>&1 | sed 's/^/    /'
        echo "--- reasons (sinfo -R):"
        sinfo -R 2>&1 | sed 's/^/    /'
        log_tail "$LOG_DIR/slurmctld.log"
        log_tail "$LOG_DIR/slurmd.log"
    } >&2
    die "node $node not idle within ${TIMEOUT} s (state: '${state:-no answer from slurmctld}'); \
SLURM_LOCAL_TIMEOUT sets the wait"
}

start_daemon() { # start a Slurm daemon unless it runs; wait until its pid file names it
    local name=$1 file=$2
    pid_of "$file" "$name" >/dev/null && return 0
    rm -f "$file"
    "$name" || {
        log_tail "$LOG_DIR/$name.log" >&2
        die "$name did not start (its log is above)"
    }
    for _ in $(seq 1 20); do
        pid_of "$file" "$name" >/dev/null && {
            say "$name started (pid $(pid_of "$file" "$name"))"
            return 0
        }
        sleep 0.5
    done
    log_tail "$LOG_DIR/$name.log" >&2
    die "$name exited right after starting, or wrote no pid file $file (its log is above)"
}

stop_slurm() {
    stop_pid_file slurmd "$SLURMD_PID"
    stop_pid_file slurmctld "$CTLD_PID"
}

smoke_job() { # one 1-CPU job through srun: the node does not only answer, it runs jobs
    timeout 30 srun --job-name=local-cluster-check -N1 -n1 -c1 --mem=100 -t 1 true 2>&1
}

# -- commands ---------------------------------------------------------------------------------

bring_up() { # write the configuration for a mode, (re)start, wait for the node, run a job
    local mode=$1 changed output
    changed=$(write_conf "$mode")
    if [[ -n $changed ]]; then
        say "wrote $CONF ($mode process tracking)"
        stop_slurm
    fi
    start_slurm
    output=$(smoke_job) || {
        log_tail "$LOG_DIR/slurmd.log" >&2
        die "the node is idle but a test job (srun true) fails: $output"
    }
    say "a test job ran ($mode process tracking)"
}

cmd_up() {
    need_root up
    need_apt
    [[ $CGROUP =~ ^(auto|yes|no)$ ]] || die "SLURM_LOCAL_CGROUP must be auto, yes or no, \
not '$CGROUP'"
    install_packages
    start_munge
    local mode rc
    # auto keeps the mode an earlier 'up' found working, and tries cgroup first on a fresh setup
    case $CGROUP in
    yes) mode=cgroup ;;
    no) mode=plain ;;
    auto) mode=$(conf_mode) && mode=${mode:-cgroup} ;;
    esac
    if [[ $mode == cgroup && $CGROUP == auto ]]; then
        # a subshell, outside any condition, so that errexit and die stay in force inside it
        set +e
        (
            set -e
            bring_up cgroup
        )
        rc=$?
        set -e
        if ((rc != 0)); then
            say "cgroup process tracking fails here (the error above; containers often refuse"
            say "cgroups): falling back to proctrack/linuxproc + task/none"
            bring_up plain
        fi
    else
        bring_up "$mode"
    fi
    say "up in $(elapsed): partition '$PARTITION', node $(node_name), $(sinfo -h -n \
"$(node_name)" -o '%c CPUs, %m MB')"
}

cmd_down() {
    need_root down
    stop_slurm
    stop_pid_file munged "$MUNGE_PID"
    say "down"
}

cmd_status() {
    local node ok=0 state
    node=$(node_name)
    for daemon in munged:$MUNGE_PID slurmctld:$CTLD_PID slurmd:$SLURMD_PID; do
        if pid=$(pid_of "${daemon#*:}" "${daemon%%:*}"); then
            say "${daemon%%:*} running (pid $pid)"
        else
            say "${daemon%%:*} not running"
            ok=1
        fi
    done
    if ! command -v sinfo >/dev/null 2>&1; then
        say "sinfo not installed (run: $0 up)"
        return 1
    fi
    state=$(sinfo -h -n "$node" -o %T 2>/dev/null || true)
    say "node $node: ${state:-no answer from slurmctld}; configuration: \
$(conf_mode || true) ${CONF}"
    sinfo 2>/dev/null || true
    case $state in
    idle | mixed | allocated | completing) return $ok ;;
    *) return 1 ;;
    esac
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
