#!/bin/sh
# Installs this raidfs checkout on a machine (run as root, from where the checkout
# will stay, e.g. /opt/raidfs): the system packages and build (setup.sh), the
# `raidfs` command in /usr/local/bin, the fstab helper /sbin/mount.raidfs, the
# systemd units (raidfs-controller.service, raidfs-node@.service), the unprivileged
# user `raidfs` the nodes run as, and /etc/raidfs for their config files. It links
# rather than copies, so `git pull` and a rebuild update the installed commands; it
# never overwrites a config file and starts nothing.
set -e
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root (sudo $0)" >&2; exit 1; }

"$root/native/setup.sh"
ln -sf "$root/bin/raidfs" /usr/local/bin/raidfs
ln -sf "$root/native/mount.raidfs" /sbin/mount.raidfs
install -m 0644 "$root"/native/systemd/*.service /etc/systemd/system/
id raidfs >/dev/null 2>&1 || useradd --system --home-dir /var/lib/raidfs-node --shell /usr/sbin/nologin raidfs
install -d -m 0755 /etc/raidfs
if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
echo "raidfs installed from $root: /usr/local/bin/raidfs, /sbin/mount.raidfs, units in /etc/systemd/system."
echo "Next: write /etc/raidfs/controller.json or /etc/raidfs/node-1.json, then"
echo "  systemctl enable --now raidfs-controller     (controller machine)"
echo "  systemctl enable --now raidfs-node@1         (each storage machine)"
