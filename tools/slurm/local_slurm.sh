#!/usr/bin/env bash
# A one-machine Slurm for trying `sslseg experiment --launcher slurm` and for tests/test_slurm.py's slow test: munge, slurmctld and
# slurmd on this host, one partition `debug` with every core of the machine. Debian/Ubuntu, as root:
#   sudo bash tools/slurm/local_slurm.sh          # installs slurm-wlm and munge when missing, writes the config, starts the daemons
#   sudo bash tools/slurm/local_slurm.sh --stop   # stops them
# No accounting database (sacct answers nothing; sslseg reads states with squeue), no cgroups (works in containers and VMs).
set -euo pipefail
CONF_DIR=${SLURM_CONF_DIR:-/etc/slurm}
if [ "${1:-}" = "--stop" ]; then
  pkill -x slurmd || true; pkill -x slurmctld || true; pkill -x munged || true; echo "local Slurm stopped"; exit 0
fi
[ "$(id -u)" = 0 ] || { echo "run as root (sudo bash $0): it installs packages and starts system daemons" >&2; exit 1; }
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge
fi
HOST=$(hostname -s); CPUS=$(nproc); MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))

# munge: the key Slurm's daemons and commands authenticate with
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
[ -s /etc/munge/munge.key ] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge; chmod 0700 /etc/munge; chmod 0400 /etc/munge/munge.key
pgrep -x munged >/dev/null || runuser -u munge -- munged

mkdir -p "$CONF_DIR" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > "$CONF_DIR/slurm.conf" <<CONF
ClusterName=sslseg-local
SlurmctldHost=${HOST}(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
KillWait=2
NodeName=${HOST} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${MEM} State=UNKNOWN
PartitionName=debug Nodes=${HOST} Default=YES MaxTime=INFINITE State=UP
CONF
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd
for i in $(seq 30); do
  if sinfo -h -o '%P %a %D %T' 2>/dev/null | grep -q -E 'idle|mix|alloc'; then sinfo; exit 0; fi
  sleep 1
done
echo "Slurm did not come up: see /var/log/slurm/slurmctld.log and /var/log/slurm/slurmd.log" >&2; sinfo >&2 || true; exit 1
