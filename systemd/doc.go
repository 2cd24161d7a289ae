// Package systemd holds Tocsin's appliance files rather than Go code: the
// systemd unit (tocsin.service), the sysusers and udev rules, the example
// tocsin.yaml and policy.yaml, and the nfpm recipe and maintainer scripts
// that `make deb` turns into .deb packages for arm64, armhf and amd64.
//
// Its tests check those files with the real tools — systemd-analyze verify
// and security, systemd-sysusers, dpkg-deb and qemu-user — so that a sandbox
// setting that would lock the daemon out of its modem or GPIO, an example
// that no longer matches the config or policy schema, or a package missing a
// file fails on the build machine instead of on a Raspberry Pi in a factory.
// Tests whose tool is absent skip and say which package provides it.
package systemd
