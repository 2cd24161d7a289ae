package systemd_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/tocsin-relay/tocsin/internal/needs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tocsin-relay/tocsin/escalation"
)

// maxExposure is the highest `systemd-analyze security` exposure score the
// unit may have (0 is best, 10 worst; 2.0 and below is rated "OK"). The unit
// scores 1.5; docs/packaging.md lists what keeps it from going lower.
const maxExposure = 2.0

// modemLink is the stable device name the udev rules give the AT port, and
// the device the example tocsin.yaml uses.
const modemLink = "tocsin-modem"

// tool returns the path of an external program, failing the test when it
// is absent (unless TOCSIN_SKIP has systemd); pkg names the Debian package
// that provides it.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	needs.That(t, err == nil, "systemd", fmt.Sprintf("%s not found (Debian package %s)", name, pkg))
	return p
}

// run runs a command and returns its combined output, failing the test
// when it cannot run or exits non-zero.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// unit is a parsed systemd unit file: section → key → values in order. An
// empty assignment resets the list to one empty value, as systemd does.
type unit map[string]map[string][]string

func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unit{}
	section := ""
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", path, n+1, line)
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if v == "" {
				u[section][k] = []string{""}
			} else {
				u[section][k] = append(u[section][k], v)
			}
		}
	}
	return u
}

// TestUnitSettings pins the settings the daemon and the hardware depend on:
// notify and watchdog (the daemon's side is in cmd/tocsin), the service
// user, and the device access that the sandbox must leave open.
func TestUnitSettings(t *testing.T) {
	u := parseUnit(t, "tocsin.service")
	exact := []struct{ section, key, want, why string }{
		{"Service", "Type", "notify", "the daemon sends READY=1 once the database is open and the engine runs"},
		{"Service", "NotifyAccess", "main", "only the daemon itself may notify"},
		{"Service", "WatchdogSec", "30s", "the daemon pings at half of WATCHDOG_USEC while its engine loop is alive"},
		{"Service", "Restart", "always", "an alert relay must come back"},
		{"Service", "ExecStart", "/usr/bin/tocsin serve -c /etc/tocsin/tocsin.yaml", "the package installs the binary and config there"},
		{"Service", "User", "tocsin", "tocsin.sysusers creates this user"},
		{"Service", "Group", "tocsin", "tocsin.sysusers creates this group"},
		{"Service", "StateDirectory", "tocsin", "tocsin.yaml's state_dir is /var/lib/tocsin"},
		{"Service", "ConfigurationDirectory", "tocsin", "the config lives in /etc/tocsin"},
		{"Service", "ProtectSystem", "strict", "only the state directory is writable"},
		{"Service", "PrivateDevices", "no", "PrivateDevices=yes hides /dev/ttyUSB* and /dev/gpiochip*"},
		{"Service", "DevicePolicy", "closed", "devices beyond DeviceAllow stay closed"},
		{"Service", "NoNewPrivileges", "yes", ""},
		{"Service", "CapabilityBoundingSet", "", "the daemon needs no capability"},
		{"Service", "RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6 AF_NETLINK", ""},
		{"Install", "WantedBy", "multi-user.target", "postinst enables the unit"},
	}
	for _, c := range exact {
		got := u[c.section][c.key]
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("[%s] %s = %q, want %q (%s)", c.section, c.key, got, c.want, c.why)
		}
	}
	contains := []struct{ key, want, why string }{
		{"SupplementaryGroups", "dialout", "the modem's tty belongs to dialout"},
		{"SupplementaryGroups", "gpio", "/dev/gpiochip* belongs to gpio (99-tocsin-gpio.rules)"},
		{"DeviceAllow", "char-ttyUSB rw", "USB modems (SIM7600, EC25, USB-serial SIM800)"},
		{"DeviceAllow", "char-ttyACM rw", "CDC-ACM modems"},
		{"DeviceAllow", "char-ttyAMA rw", "SIM800 HATs on the Pi's UART"},
		{"DeviceAllow", "char-gpiochip rw", "GPIO lines through the character device"},
		{"DeviceAllow", "char-bcm2835-gpiomem rw", "periph's /dev/gpiomem fast path on Pi 1-4"},
	}
	for _, c := range contains {
		var fields []string
		for _, v := range u["Service"][c.key] {
			if c.key == "DeviceAllow" {
				fields = append(fields, v)
			} else {
				fields = append(fields, strings.Fields(v)...)
			}
		}
		if !slices.Contains(fields, c.want) {
			t.Errorf("[Service] %s = %q lacks %q (%s)", c.key, u["Service"][c.key], c.want, c.why)
		}
	}
	forbidden := []struct{ key, value, why string }{
		{"ProcSubset", "pid", "periph reads /proc/cpuinfo and /proc/device-tree to recognise the board"},
		{"PrivateUsers", "yes", "a user namespace maps dialout and gpio to nobody"},
		{"DevicePolicy", "strict", "strict also closes the pseudo devices Go and SQLite open (/dev/null, /dev/urandom)"},
	}
	for _, c := range forbidden {
		if slices.Contains(u["Service"][c.key], c.value) {
			t.Errorf("[Service] %s=%s breaks the daemon: %s", c.key, c.value, c.why)
		}
	}
}

// stagedUnit copies tocsin.service into a temporary directory with
// ExecStart pointing at a stub executable there: systemd-analyze verify
// insists that the binary exists, and /usr/bin/tocsin need not on a build
// machine.
func stagedUnit(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	stub := filepath.Join(dir, "tocsin")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("tocsin.service")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("ExecStart=/usr/bin/tocsin ")) {
		t.Fatal("tocsin.service: no ExecStart=/usr/bin/tocsin to stage")
	}
	b = bytes.ReplaceAll(b, []byte("/usr/bin/tocsin "), []byte(stub+" "))
	path := filepath.Join(dir, "tocsin.service")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestUnitVerify runs systemd-analyze verify, which needs no running
// systemd: it loads the unit as the manager would and reports unknown
// settings, bad values and missing executables.
func TestUnitVerify(t *testing.T) {
	sa := tool(t, "systemd-analyze", "systemd")
	path := stagedUnit(t)
	out, err := exec.CommandContext(t.Context(), sa, "verify", "--man=no", path).CombinedOutput()
	// verify also reports problems in the host's own units; only ours count.
	var ours []string
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, "tocsin") {
			ours = append(ours, strings.TrimSpace(line))
		}
	}
	if err != nil || len(ours) > 0 {
		t.Errorf("systemd-analyze verify tocsin.service: %v\n%s", err, strings.Join(ours, "\n"))
	}
}

var exposureRE = regexp.MustCompile(`Overall exposure level for tocsin\.service: ([0-9.]+)`)

// acceptedExposures are the systemd-analyze security items the unit leaves
// open on purpose, by their json_field, with the reason. Anything else that
// adds exposure fails TestUnitSecurity by name.
var acceptedExposures = map[string]string{
	"PrivateNetwork":                        "the HTTP API and MQTT serve the LAN",
	"RestrictAddressFamilies_AF_INET_INET6": "the HTTP API and MQTT",
	"RestrictAddressFamilies_AF_UNIX":       "sd_notify and the journal",
	"RestrictAddressFamilies_AF_NETLINK":    "network interface enumeration",
	"IPAddressDeny":                         "LAN ranges differ per site; webhooks and the uplink check may go anywhere",
	"PrivateDevices":                        "PrivateDevices=yes hides /dev/ttyUSB* and /dev/gpiochip*; DevicePolicy=closed with DeviceAllow instead",
	"DeviceAllow":                           "exactly the modem's ttys and the GPIO devices (and rtc read-only from ProtectClock)",
	"SupplementaryGroups":                   "dialout and gpio are how the service user reaches the modem and GPIO",
	"PrivateUsers":                          "a user namespace maps dialout and gpio to nobody",
	"ProcSubset":                            "periph reads /proc/cpuinfo and /proc/device-tree to recognise the board",
	"RootDirectoryOrRootImage":              "the daemon needs the host's /dev, /sys, device tree and zoneinfo",
}

// TestUnitSecurity scores the sandbox offline and fails above maxExposure
// or when a setting outside acceptedExposures adds exposure, so loosening
// the sandbox has to be a visible decision.
func TestUnitSecurity(t *testing.T) {
	sa := tool(t, "systemd-analyze", "systemd")
	path := stagedUnit(t)
	threshold := strconv.Itoa(int(maxExposure * 10)) // systemd counts in tenths
	out, err := exec.CommandContext(t.Context(), sa, "security", "--offline=yes", "--no-pager",
		"--threshold="+threshold, path).CombinedOutput()
	m := exposureRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: no overall exposure line (%v)\n%s", err, out)
	}
	score, perr := strconv.ParseFloat(string(m[1]), 64)
	if perr != nil {
		t.Fatal(perr)
	}
	t.Logf("systemd-analyze security --offline=yes: exposure %.1f (limit %.1f)", score, maxExposure)
	if err != nil || score > maxExposure {
		t.Errorf("exposure %.1f, want at most %.1f (%v)", score, maxExposure, err)
	}

	out, err = exec.CommandContext(t.Context(), sa, "security", "--offline=yes", "--json=short", path).Output()
	if err != nil {
		t.Fatalf("systemd-analyze security --json=short: %v", err)
	}
	var items []struct {
		Set         bool    `json:"set"`
		Name        string  `json:"name"`
		JSONField   string  `json:"json_field"`
		Description string  `json:"description"`
		Exposure    *string `json:"exposure"`
	}
	if err := json.Unmarshal(out, &items); err != nil {
		t.Fatalf("systemd-analyze security --json=short: %v\n%s", err, out)
	}
	if len(items) == 0 {
		t.Fatal("systemd-analyze security --json=short: no items")
	}
	for _, it := range items {
		if it.Set || it.Exposure == nil {
			continue
		}
		if e, _ := strconv.ParseFloat(*it.Exposure, 64); e == 0 {
			continue
		}
		if _, ok := acceptedExposures[it.JSONField]; !ok {
			t.Errorf("%s (%s): %s, exposure %s; harden it or add it to acceptedExposures with the reason",
				it.Name, it.JSONField, it.Description, *it.Exposure)
		}
	}
}

// TestSysusers applies tocsin.sysusers to a scratch root that has dialout
// but no gpio group, as plain Debian does.
func TestSysusers(t *testing.T) {
	su := tool(t, "systemd-sysusers", "systemd")
	root := t.TempDir()
	etc := filepath.Join(root, "etc")
	files := map[string]string{
		"passwd": "root:x:0:0:root:/root:/bin/bash\n",
		"group":  "root:x:0:\ndialout:x:20:\n",
		"shadow": "root:*:19000:0:99999:7:::\n",
	}
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	conf, err := filepath.Abs("tocsin.sysusers")
	if err != nil {
		t.Fatal(err)
	}
	run(t, su, "--root="+root, conf)
	// Twice: postinst runs it on every upgrade.
	run(t, su, "--root="+root, conf)

	passwd := readColonFile(t, filepath.Join(etc, "passwd"))
	group := readColonFile(t, filepath.Join(etc, "group"))
	user, ok := passwd["tocsin"]
	if !ok {
		t.Fatalf("no tocsin user in passwd: %v", passwd)
	}
	if home, shell := user[5], user[6]; home != "/var/lib/tocsin" || shell != "/usr/sbin/nologin" {
		t.Errorf("tocsin home, shell = %q, %q; want /var/lib/tocsin, /usr/sbin/nologin", home, shell)
	}
	if uid, _ := strconv.Atoi(user[2]); uid == 0 || uid >= 1000 {
		t.Errorf("tocsin uid = %d, want a system uid (1-999)", uid)
	}
	if g, ok := group["tocsin"]; !ok || g[2] != user[3] {
		t.Errorf("tocsin's primary group: group entry %v, user gid %s", g, user[3])
	}
	if g := group["dialout"]; g[2] != "20" {
		t.Errorf("dialout gid = %s, want the existing 20 kept", g[2])
	}
	for _, name := range []string{"dialout", "gpio"} {
		g, ok := group[name]
		if !ok {
			t.Errorf("no %s group", name)
			continue
		}
		if members := strings.Split(g[3], ","); !slices.Contains(members, "tocsin") {
			t.Errorf("group %s members = %q, want tocsin among them", name, g[3])
		}
	}
}

// readColonFile reads passwd or group into name → fields.
func readColonFile(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]string{}
	for line := range strings.Lines(string(b)) {
		f := strings.Split(strings.TrimSpace(line), ":")
		if len(f) >= 4 {
			m[f[0]] = f
		}
	}
	return m
}

// udevRule is one rule line of a .rules file.
type udevRule struct {
	line int
	keys []udevKey
}

type udevKey struct{ key, attr, op, value string }

// get returns the value of the first key with that name, attribute and
// operator.
func (r udevRule) get(key, attr, op string) (string, bool) {
	for _, k := range r.keys {
		if k.key == key && k.attr == attr && k.op == op {
			return k.value, true
		}
	}
	return "", false
}

var udevKeyRE = regexp.MustCompile(`^([A-Z]+)(?:\{([^}]+)\})?(==|!=|\+=|-=|:=|=)"([^"]*)"$`)

// udevKeys are the keys udev(7) of systemd 252 knows; a typo in a key name
// would otherwise make udev skip the rule with only a log line.
var udevKeys = []string{"ACTION", "DEVPATH", "KERNEL", "KERNELS", "NAME", "SYMLINK",
	"SUBSYSTEM", "SUBSYSTEMS", "DRIVER", "DRIVERS", "ATTR", "ATTRS", "SYSCTL", "ENV",
	"CONST", "TAG", "TAGS", "TEST", "PROGRAM", "RESULT", "OWNER", "GROUP", "MODE",
	"SECLABEL", "RUN", "IMPORT", "OPTIONS", "LABEL", "GOTO"}

// parseUdev reads a rules file strictly enough to catch typos: every key is
// a known one, every operator valid, every value quoted, every GOTO has its
// LABEL.
func parseUdev(t *testing.T, path string) []udevRule {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rules []udevRule
	labels, gotos := map[string]bool{}, map[string]int{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		r := udevRule{line: n}
		for part := range strings.SplitSeq(line, ", ") {
			m := udevKeyRE.FindStringSubmatch(strings.TrimSpace(part))
			if m == nil {
				t.Errorf("%s:%d: cannot read %q as KEY{attr}op\"value\"", path, n, part)
				continue
			}
			k := udevKey{key: m[1], attr: m[2], op: m[3], value: m[4]}
			if !slices.Contains(udevKeys, k.key) {
				t.Errorf("%s:%d: unknown key %s", path, n, k.key)
			}
			switch k.key {
			case "LABEL":
				labels[k.value] = true
			case "GOTO":
				gotos[k.value] = n
			}
			r.keys = append(r.keys, k)
		}
		rules = append(rules, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for label, n := range gotos {
		if !labels[label] {
			t.Errorf("%s:%d: GOTO %q has no LABEL", path, n, label)
		}
	}
	return rules
}

// TestUdevModemRules checks that each supported modem's AT port gets the
// stable name and that ModemManager is told to leave the modem alone (it
// would otherwise read and delete the SMS replies Tocsin waits for).
func TestUdevModemRules(t *testing.T) {
	rules := parseUdev(t, "99-tocsin-modem.rules")
	importAt := -1
	for i, r := range rules {
		if v, ok := r.get("IMPORT", "builtin", "="); ok && v == "usb_id" {
			importAt = i
			break
		}
	}
	if importAt < 0 {
		t.Fatal(`no IMPORT{builtin}="usb_id": the ID_VENDOR_ID matches depend on it`)
	}
	match := func(r udevRule, vendor, product string) bool {
		v, _ := r.get("ENV", "ID_VENDOR_ID", "==")
		p, _ := r.get("ENV", "ID_MODEL_ID", "==")
		return v == vendor && p == product
	}
	for _, r := range rules[:importAt] {
		if _, ok := r.get("ENV", "ID_VENDOR_ID", "=="); ok {
			t.Errorf("line %d matches ID_VENDOR_ID before the usb_id import", r.line)
		}
	}
	modems := []struct {
		name, vendor, product, iface string // iface "": the whole device is the modem
	}{
		{"SIMCom SIM7600", "1e0e", "9001", "02"},
		{"Quectel EC25", "2c7c", "0125", "02"},
		{"SIM800 on CP2102", "10c4", "ea60", ""},
		{"SIM800 on CH340", "1a86", "7523", ""},
		{"SIM800 on FT232R", "0403", "6001", ""},
		{"SIM800 on PL2303", "067b", "2303", ""},
	}
	for _, m := range modems {
		var named, ignored bool
		for _, r := range rules[importAt:] {
			if !match(r, m.vendor, m.product) {
				continue
			}
			iface, hasIface := r.get("ENV", "ID_USB_INTERFACE_NUM", "==")
			if v, ok := r.get("ENV", "ID_MM_DEVICE_IGNORE", "="); ok && v == "1" && (!hasIface || m.iface == "") {
				ignored = true
			}
			if link, ok := r.get("SYMLINK", "", "+="); ok && link == modemLink {
				if sub, _ := r.get("SUBSYSTEM", "", "=="); sub != "tty" {
					t.Errorf("%s: line %d names a %q device, want SUBSYSTEM==\"tty\"", m.name, r.line, sub)
				}
				if iface != m.iface {
					t.Errorf("%s: line %d names interface %q, want the AT port %q", m.name, r.line, iface, m.iface)
				}
				if g, _ := r.get("GROUP", "", "="); g != "dialout" {
					t.Errorf("%s: line %d gives the port to group %q, want dialout", m.name, r.line, g)
				}
				named = true
			}
		}
		if !named {
			t.Errorf("%s (%s:%s): no rule names its AT port /dev/%s", m.name, m.vendor, m.product, modemLink)
		}
		if !ignored {
			t.Errorf("%s (%s:%s): no rule sets ID_MM_DEVICE_IGNORE=1 on all its ports", m.name, m.vendor, m.product)
		}
	}
}

// TestUdevGPIORules checks the rule giving the GPIO character devices to
// the gpio group the service joins.
func TestUdevGPIORules(t *testing.T) {
	var found bool
	for _, r := range parseUdev(t, "99-tocsin-gpio.rules") {
		k, _ := r.get("KERNEL", "", "==")
		g, _ := r.get("GROUP", "", "=")
		mode, _ := r.get("MODE", "", "=")
		if k == "gpiochip*" && g == "gpio" && mode == "0660" {
			found = true
		}
	}
	if !found {
		t.Error(`no rule with KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"`)
	}
}

// decodeStrict decodes YAML refusing unknown keys, as the daemon does.
func decodeStrict(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// exampleConfig is the part of docs/reference.md §3 the cross-file checks read.
type exampleConfig struct {
	StateDir   string `yaml:"state_dir"`
	PolicyFile string `yaml:"policy_file"`
	HTTP       struct {
		Listen string `yaml:"listen"`
		Tokens []struct {
			Name      string `yaml:"name"`
			Token     string `yaml:"token"`
			TokenFile string `yaml:"token_file"`
		} `yaml:"tokens"`
	} `yaml:"http"`
	Modem struct {
		Device  string `yaml:"device"`
		Profile string `yaml:"profile"`
	} `yaml:"modem"`
	GPIO struct {
		Backend string `yaml:"backend"`
		Outputs []struct {
			ID   string `yaml:"id"`
			Zone string `yaml:"zone"`
		} `yaml:"outputs"`
	} `yaml:"gpio"`
}

func loadExampleConfig(t *testing.T) exampleConfig {
	t.Helper()
	var top map[string]yaml.Node
	decodeStrict(t, "tocsin.yaml", &top)
	spec := []string{"state_dir", "policy_file", "http", "mqtt", "modem", "gpio"}
	for k := range top {
		if !slices.Contains(spec, k) {
			t.Errorf("tocsin.yaml: top-level key %q is not in docs/reference.md §3", k)
		}
	}
	b, err := os.ReadFile("tocsin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c exampleConfig
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("tocsin.yaml: %v", err)
	}
	return c
}

// TestExampleConfig checks the example tocsin.yaml against the files it
// must agree with: the unit's StateDirectory, the udev link, the token file
// postinst writes and the policy file the package installs.
func TestExampleConfig(t *testing.T) {
	c := loadExampleConfig(t)
	u := parseUnit(t, "tocsin.service")
	if want := "/var/lib/" + u["Service"]["StateDirectory"][0]; c.StateDir != want {
		t.Errorf("state_dir = %q, want %q (the unit's StateDirectory, the only writable path)", c.StateDir, want)
	}
	if c.PolicyFile != "/etc/tocsin/policy.yaml" {
		t.Errorf("policy_file = %q, want /etc/tocsin/policy.yaml (installed by the package)", c.PolicyFile)
	}
	if want := "/dev/" + modemLink; c.Modem.Device != want {
		t.Errorf("modem.device = %q, want %q (the udev rule's name for the AT port)", c.Modem.Device, want)
	}
	if c.GPIO.Backend != "periph" {
		t.Errorf("gpio.backend = %q, want periph on an appliance", c.GPIO.Backend)
	}
	postinst, err := os.ReadFile("deb/postinst")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.HTTP.Tokens) == 0 {
		t.Fatal("http.tokens is empty: the API would be unusable")
	}
	for _, tok := range c.HTTP.Tokens {
		if tok.Token != "" {
			t.Errorf("token %q is inline: a shipped example must not carry a well-known secret", tok.Name)
		}
		if !bytes.Contains(postinst, []byte(tok.TokenFile)) {
			t.Errorf("token %q reads %s, which postinst does not create", tok.Name, tok.TokenFile)
		}
	}
}

// TestExamplePolicy decodes the example policy into the domain type with
// unknown keys refused and runs the engine's own Normalize and Validate on
// it; zones are checked against the example config's GPIO outputs, which
// the policy alone cannot know.
func TestExamplePolicy(t *testing.T) {
	var p escalation.Policy
	decodeStrict(t, "policy.yaml", &p)
	p.Normalize()
	for _, e := range p.Validate() {
		t.Errorf("policy.yaml: %v", e)
	}

	c := loadExampleConfig(t)
	zones := map[string]bool{}
	for _, o := range c.GPIO.Outputs {
		zones[o.Zone] = true
	}
	var zoneTargets int
	for _, e := range p.EscalationPolicies {
		for i, l := range e.Levels {
			for _, tg := range l.Notify {
				if tg.Zone == "" {
					continue
				}
				zoneTargets++
				if !zones[tg.Zone] {
					t.Errorf("escalation policy %s level %d: zone %q has no output in tocsin.yaml", e.ID, i, tg.Zone)
				}
			}
		}
	}
	if zoneTargets == 0 {
		t.Error("policy.yaml pages no zone: the example should show sirens and lights")
	}
	t.Logf("policy.yaml: %d contacts, %d services, %d schedules, %d escalation policies",
		len(p.Contacts), len(p.Services), len(p.Schedules), len(p.EscalationPolicies))
}

// TestMaintainerScripts checks the scripts' syntax with the shell that runs
// them and that each does its part.
func TestMaintainerScripts(t *testing.T) {
	sh := tool(t, "sh", "dash")
	want := map[string][]string{
		"postinst": {
			"/usr/bin/tocsin version",
			"systemd-sysusers /usr/lib/sysusers.d/tocsin.conf",
			"udevadm trigger",
			"systemctl daemon-reload",
			"systemctl enable tocsin.service",
			"systemctl restart tocsin.service",
			"/etc/tocsin/api.token",
		},
		"prerm":  {"systemctl stop tocsin.service"},
		"postrm": {"purge", "rm -rf /var/lib/tocsin", "multi-user.target.wants/tocsin.service"},
	}
	for name, needles := range want {
		path := filepath.Join("deb", name)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s is not executable", path)
		}
		run(t, sh, "-n", path)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("#!/bin/sh\n")) {
			t.Errorf("%s: want #!/bin/sh as the first line", path)
		}
		if !bytes.Contains(b, []byte("\nset -e\n")) {
			t.Errorf("%s: want set -e", path)
		}
		for _, n := range needles {
			if !bytes.Contains(b, []byte(n)) {
				t.Errorf("%s does not contain %q", path, n)
			}
		}
	}
}
