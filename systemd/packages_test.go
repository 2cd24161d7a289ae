package systemd_test

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"github.com/tocsin-relay/tocsin/internal/needs"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// debArch describes one package `make deb` builds.
type debArch struct {
	arch    string      // Debian architecture
	machine elf.Machine // of /usr/bin/tocsin
	qemu    []string    // user-mode emulators that run it, in order of preference; none: native
}

var debArches = []debArch{
	{"amd64", elf.EM_X86_64, nil},
	{"arm64", elf.EM_AARCH64, []string{"qemu-aarch64-static", "qemu-aarch64"}},
	{"armhf", elf.EM_ARM, []string{"qemu-arm-static", "qemu-arm"}},
}

// debFiles are the paths every package must install, with their modes as
// dpkg-deb -c prints them.
var debFiles = map[string]string{
	"./usr/bin/tocsin":                                 "-rwxr-xr-x",
	"./lib/systemd/system/tocsin.service":              "-rw-r--r--",
	"./lib/udev/rules.d/99-tocsin-modem.rules":         "-rw-r--r--",
	"./lib/udev/rules.d/99-tocsin-gpio.rules":          "-rw-r--r--",
	"./usr/lib/sysusers.d/tocsin.conf":                 "-rw-r--r--",
	"./etc/tocsin/tocsin.yaml":                         "-rw-r--r--",
	"./etc/tocsin/policy.yaml":                         "-rw-r--r--",
	"./usr/share/doc/tocsin/copyright":                 "-rw-r--r--",
	"./usr/share/doc/tocsin/README.md":                 "-rw-r--r--",
	"./usr/share/doc/tocsin/docs/install.md":           "-rw-r--r--",
	"./usr/share/doc/tocsin/docs/reference.md":         "-rw-r--r--",
	"./usr/share/doc/tocsin/docs/integrations.md":      "-rw-r--r--",
	"./usr/share/doc/tocsin/docs/packaging.md":         "-rw-r--r--",
	"./usr/share/doc/tocsin/firmware-notes/README.md":  "-rw-r--r--",
	"./usr/share/doc/tocsin/firmware-notes/wiring.md":  "-rw-r--r--",
	"./usr/share/doc/tocsin/firmware-notes/generic.md": "-rw-r--r--",
	"./usr/share/doc/tocsin/firmware-notes/sim7600.md": "-rw-r--r--",
	"./usr/share/doc/tocsin/firmware-notes/ec25.md":    "-rw-r--r--",
	"./usr/share/doc/tocsin/firmware-notes/sim800.md":  "-rw-r--r--",
}

// debSources maps installed paths to the repository files they come from,
// so a package built from older sources is reported as stale.
var debSources = map[string]string{
	"./lib/systemd/system/tocsin.service":      "tocsin.service",
	"./lib/udev/rules.d/99-tocsin-modem.rules": "99-tocsin-modem.rules",
	"./lib/udev/rules.d/99-tocsin-gpio.rules":  "99-tocsin-gpio.rules",
	"./usr/lib/sysusers.d/tocsin.conf":         "tocsin.sysusers",
	"./etc/tocsin/tocsin.yaml":                 "tocsin.yaml",
	"./etc/tocsin/policy.yaml":                 "policy.yaml",
	"./usr/share/doc/tocsin/copyright":         "copyright",
	"./usr/share/doc/tocsin/README.md":         "../README.md",
	"./usr/share/doc/tocsin/docs/install.md":   "../docs/install.md",
	"./usr/share/doc/tocsin/docs/reference.md": "../docs/reference.md",
}

// findDebs returns the newest dist/tocsin_*_ARCH.deb per architecture. With
// TOCSIN_TEST_PACKAGES=1 it first runs `make deb` (about three minutes on
// two cores with a cold cache: three cgo SQLite builds); otherwise it uses
// packages already in dist/ and skips when there are none.
func findDebs(t *testing.T) map[string]string {
	t.Helper()
	tool(t, "dpkg-deb", "dpkg")
	if os.Getenv("TOCSIN_TEST_PACKAGES") == "1" {
		for _, cc := range []struct{ name, pkg string }{
			{"aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"},
			{"arm-linux-gnueabihf-gcc", "gcc-arm-linux-gnueabihf"},
			{"gcc", "gcc"},
			{"make", "make"},
		} {
			tool(t, cc.name, cc.pkg)
		}
		run(t, "make", "-C", "..", "deb")
	}
	debs := map[string]string{}
	newest := map[string]int64{}
	for _, a := range debArches {
		matches, err := filepath.Glob(filepath.Join("..", "dist", "tocsin_*_"+a.arch+".deb"))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			fi, err := os.Stat(m)
			if err != nil {
				t.Fatal(err)
			}
			if mt := fi.ModTime().UnixNano(); mt > newest[a.arch] {
				newest[a.arch], debs[a.arch] = mt, m
			}
		}
	}
	needs.That(t, len(debs) > 0, "packages", "no dist/tocsin_*.deb: run `make deb` first (`make test` does), or set TOCSIN_TEST_PACKAGES=1 to build them here")
	// Packages older than their sources say nothing about the sources (and
	// in a shared work tree they are someone's earlier build).
	sources := []string{"nfpm.yaml", "deb/postinst", "deb/prerm", "deb/postrm"}
	for _, src := range debSources {
		sources = append(sources, src)
	}
	for _, src := range sources {
		fi, err := os.Stat(src)
		if err != nil {
			t.Fatal(err)
		}
		for arch, deb := range debs {
			needs.That(t, fi.ModTime().UnixNano() <= newest[arch], "packages",
				fmt.Sprintf("%s is older than systemd/%s: run `make deb` again", deb, src))
		}
	}
	return debs
}

// TestDebPackages inspects each .deb with dpkg-deb: control fields,
// conffiles, maintainer scripts, the installed files and their modes, and
// the binary (static, right machine, runs `version` natively or under
// qemu-user).
func TestDebPackages(t *testing.T) {
	debs := findDebs(t)
	for _, a := range debArches {
		t.Run(a.arch, func(t *testing.T) {
			deb, ok := debs[a.arch]
			if !ok {
				t.Fatalf("no dist/tocsin_*_%s.deb among %v", a.arch, debs)
			}
			checkControl(t, deb, a.arch)
			checkScripts(t, deb)
			checkContents(t, deb)
			bin := extractFile(t, deb, "./usr/bin/tocsin")
			checkBinary(t, bin, a)
		})
	}
}

func checkControl(t *testing.T, deb, arch string) {
	t.Helper()
	fields := run(t, "dpkg-deb", "--field", deb, "Package", "Architecture", "Version", "Depends")
	want := []string{"Package: tocsin", "Architecture: " + arch, "Depends: systemd"}
	for _, w := range want {
		if !strings.Contains(fields, w+"\n") {
			t.Errorf("%s control lacks %q:\n%s", deb, w, fields)
		}
	}
	conffiles := run(t, "dpkg-deb", "--info", deb, "conffiles")
	for _, f := range []string{"/etc/tocsin/tocsin.yaml", "/etc/tocsin/policy.yaml"} {
		if !slices.Contains(strings.Fields(conffiles), f) {
			t.Errorf("%s: %s is not a conffile (an upgrade would overwrite local edits); conffiles:\n%s", deb, f, conffiles)
		}
	}
}

// checkScripts extracts the control area and compares the maintainer
// scripts with deb/, so a stale package fails here rather than on a Pi.
func checkScripts(t *testing.T, deb string) {
	t.Helper()
	dir := t.TempDir()
	run(t, "dpkg-deb", "--control", deb, dir)
	for _, name := range []string{"postinst", "prerm", "postrm"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s has no %s: %v", deb, name, err)
			continue
		}
		want, err := os.ReadFile(filepath.Join("deb", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %s differs from systemd/deb/%s; rebuild with make deb", deb, name, name)
		}
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s: %s is not executable", deb, name)
		}
	}
}

func checkContents(t *testing.T, deb string) {
	t.Helper()
	listing := run(t, "dpkg-deb", "--contents", deb)
	modes := map[string]string{}
	for line := range strings.Lines(listing) {
		f := strings.Fields(line)
		if len(f) >= 6 {
			modes[f[5]] = f[0]
		}
	}
	for path, mode := range debFiles {
		got, ok := modes[path]
		switch {
		case !ok:
			t.Errorf("%s does not install %s", deb, path)
		case got != mode:
			t.Errorf("%s installs %s with mode %s, want %s", deb, path, got, mode)
		}
	}
	for path, src := range debSources {
		if _, ok := modes[path]; !ok {
			continue
		}
		want, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if got := extractFile(t, deb, path); !bytes.Equal(got, want) {
			t.Errorf("%s: %s differs from systemd/%s; rebuild with make deb", deb, path, src)
		}
	}
}

// extractFile reads one file out of the package's data archive.
func extractFile(t *testing.T, deb, path string) []byte {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "dpkg-deb", "--fsys-tarfile", deb).Output()
	if err != nil {
		t.Fatalf("dpkg-deb --fsys-tarfile %s: %v", deb, err)
	}
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("%s: no %s in the data archive", deb, path)
		}
		if err != nil {
			t.Fatalf("%s: %v", deb, err)
		}
		if h.Name == path {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

// checkBinary checks that the binary is for the package's machine and
// statically linked (no program interpreter), then runs `tocsin version`
// natively or under qemu-user when an emulator is installed.
func checkBinary(t *testing.T, bin []byte, a debArch) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("/usr/bin/tocsin is not ELF: %v", err)
	}
	if f.Machine != a.machine {
		t.Errorf("/usr/bin/tocsin is for %v, want %v", f.Machine, a.machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("/usr/bin/tocsin has a program interpreter: it is dynamically linked, want static")
		}
	}
	if a.arch == "armhf" {
		checkARMv7(t, f)
	}
	f.Close()

	var argv []string
	if len(a.qemu) > 0 {
		for _, q := range a.qemu {
			if p, err := exec.LookPath(q); err == nil {
				argv = []string{p}
				break
			}
		}
		if argv == nil {
			t.Logf("%s not found (Debian package qemu-user-static): not running the %s binary", a.qemu[0], a.arch)
			return
		}
	}
	path := filepath.Join(t.TempDir(), "tocsin")
	if err := os.WriteFile(path, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	argv = append(argv, path, "version")
	out, err := exec.CommandContext(t.Context(), argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	if len(bytes.TrimSpace(out)) == 0 {
		t.Errorf("%s printed nothing", strings.Join(argv, " "))
	}
	t.Logf("%s %s: %s", a.arch, strings.Join(argv[len(argv)-1:], " "), bytes.TrimSpace(out))
}

// checkARMv7 reads the ARM build attributes: Debian's armhf compiler and
// GOARM=7 give an ARMv7 binary, which a Pi Zero or Pi 1 (ARMv6) cannot run
// (docs/packaging.md says to build on the device for those).
func checkARMv7(t *testing.T, f *elf.File) {
	t.Helper()
	s := f.Section(".ARM.attributes")
	if s == nil {
		t.Log("armhf binary has no .ARM.attributes section; architecture version not checked")
		return
	}
	b, err := s.Data()
	if err != nil {
		t.Fatal(err)
	}
	// Tag_CPU_arch (6) = 10 means ARMv7; the attribute is a ULEB128 tag and
	// value inside the "aeabi" subsection.
	if !bytes.Contains(b, []byte{6, 10}) {
		t.Errorf(".ARM.attributes has no Tag_CPU_arch=v7 (%x)", b)
	}
}

// TestDebInstallCycle installs the native package on this machine with
// dpkg, reinstalls it over a locally edited conffile, removes it and purges
// it, checking each step. It changes the host (a system user, /etc/tocsin,
// an enablement link), so it runs only as root with TOCSIN_TEST_INSTALL=1
// on a machine without tocsin; the tocsin user stays afterwards, as after
// any purge.
func TestDebInstallCycle(t *testing.T) {
	needs.That(t, os.Getenv("TOCSIN_TEST_INSTALL") == "1", "install",
		"changes the host: set TOCSIN_TEST_INSTALL=1 (as root, on a throwaway machine) to run")
	needs.That(t, os.Geteuid() == 0, "install", "dpkg -i needs root")
	tool(t, "dpkg", "dpkg")
	tool(t, "setpriv", "util-linux")
	needs.That(t, exec.Command("dpkg-query", "-W", "tocsin").Run() != nil, "install", "tocsin is installed on this machine; not touching it")
	for _, p := range []string{"/etc/tocsin", "/var/lib/tocsin"} {
		_, err := os.Stat(p)
		needs.That(t, err != nil, "install", p+" exists on this machine; not touching it")
	}
	debs := findDebs(t)
	deb, ok := debs[runtime.GOARCH]
	needs.That(t, ok, "packages", fmt.Sprintf("no dist/tocsin_*_%s.deb for this machine", runtime.GOARCH))
	t.Cleanup(func() { exec.Command("dpkg", "--purge", "tocsin").Run() })
	const (
		wants  = "/etc/systemd/system/multi-user.target.wants/tocsin.service"
		policy = "/etc/tocsin/policy.yaml"
		token  = "/etc/tocsin/api.token"
	)

	run(t, "dpkg", "--install", deb)
	u, err := user.Lookup("tocsin")
	if err != nil {
		t.Fatalf("after install: %v", err)
	}
	gids, err := u.GroupIds()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"dialout", "gpio"} {
		g, err := user.LookupGroup(name)
		if err != nil {
			t.Errorf("after install: %v", err)
		} else if !slices.Contains(gids, g.Gid) {
			t.Errorf("after install: tocsin is not in group %s (groups %v)", name, gids)
		}
	}
	g, err := user.LookupGroup("tocsin")
	if err != nil {
		t.Fatal(err)
	}
	checkOwner(t, "/etc/tocsin", 0o750|os.ModeDir, g.Gid)
	checkOwner(t, token, 0o640, g.Gid)
	tok, err := os.ReadFile(token)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}\n$`).Match(tok) {
		t.Errorf("api.token = %q, want 64 hex digits and a newline", tok)
	}
	if _, err := os.Lstat(wants); err != nil {
		t.Errorf("after install, the unit is not enabled: %v", err)
	}
	// The service user can read its config: the daemon's own check, run
	// with the unit's user and groups.
	run(t, "setpriv", "--reuid=tocsin", "--regid=tocsin", "--init-groups",
		"/usr/bin/tocsin", "check", "-c", "/etc/tocsin/tocsin.yaml")

	// Reinstall (as an upgrade does) over a local edit.
	f, err := os.OpenFile(policy, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("# local edit\n")
	f.Close()
	run(t, "dpkg", "--install", deb)
	if b, _ := os.ReadFile(policy); !bytes.HasSuffix(b, []byte("# local edit\n")) {
		t.Error("reinstall overwrote the locally edited policy.yaml")
	}
	if b, _ := os.ReadFile(token); !bytes.Equal(b, tok) {
		t.Error("reinstall replaced api.token")
	}

	// The daemon's state, as systemd's StateDirectory would hold it.
	if err := os.MkdirAll("/var/lib/tocsin", 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/var/lib/tocsin/tocsin.db", nil, 0o600); err != nil {
		t.Fatal(err)
	}

	run(t, "dpkg", "--remove", "tocsin")
	for _, p := range []string{policy, token, wants, "/var/lib/tocsin/tocsin.db"} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("remove (not purge) deleted %s: %v", p, err)
		}
	}
	if _, err := os.Stat("/usr/bin/tocsin"); err == nil {
		t.Error("remove left /usr/bin/tocsin")
	}

	run(t, "dpkg", "--purge", "tocsin")
	for _, p := range []string{"/etc/tocsin", "/var/lib/tocsin", wants} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("purge left %s", p)
		}
	}
}

// checkOwner checks a path's mode and group.
func checkOwner(t *testing.T, path string, mode os.FileMode, gid string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != mode {
		t.Errorf("%s mode %v, want %v", path, fi.Mode(), mode)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && strconv.Itoa(int(st.Gid)) != gid {
		t.Errorf("%s group id %d, want %s", path, st.Gid, gid)
	}
}
