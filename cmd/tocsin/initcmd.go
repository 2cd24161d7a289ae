package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tocsin-relay/tocsin/device"
	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/console"
)

// cmdInit is `tocsin init`: the first run on a new box, from a blank
// config directory to a checked config and policy, a test SMS, an offered
// test call and a pulse of every siren. Every question has a flag, so
// --non-interactive runs it from a script; it never overwrites a file
// without --force, and with --non-interactive sends nothing without --yes.
func cmdInit(ctx context.Context, args []string, stdin io.Reader, out io.Writer) error {
	fs := newFlags("init")
	nonInteractive := fs.Bool("non-interactive", false, "ask nothing: every answer from flags")
	dir := fs.String("config-dir", "/etc/tocsin", "where tocsin.yaml, policy.yaml and the secret files go")
	dev := fs.String("device", "", "modem serial device (/dev/serial/by-id/...), or sim")
	baud := fs.Int("baud", 115200, "modem baud rate")
	var contacts stringList
	fs.Var(&contacts, "contact", "a contact as \"id,name,phone,lang\" (lang ja or en); repeat for more")
	region := fs.String("region", defaultRegion, "region of national phone numbers such as 090-1234-5678")
	zone := fs.String("time-zone", hostZone(), "the policy's time zone (IANA name)")
	user := fs.String("console-user", "admin", "web console login name")
	password := fs.String("console-password", "", "web console password (prefer --console-password-file)")
	passwordFile := fs.String("console-password-file", "", "file holding the web console password")
	listen := fs.String("listen", "0.0.0.0:8080", "address of the API and web console")
	stateDir := fs.String("state-dir", "/var/lib/tocsin", "where the database lives")
	backend := fs.String("gpio-backend", "periph", "GPIO backend: periph (the Pi), sim or none")
	var sirens stringList
	fs.Var(&sirens, "siren", "a siren output as ZONE:PIN, such as line1:GPIO17; repeat for more")
	force := fs.Bool("force", false, "overwrite an existing tocsin.yaml or policy.yaml")
	yes := fs.Bool("yes", false, "answer yes to the tests: send the SMS, place the call, pulse the sirens")
	if err := parseFlags(fs, args, out); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("init", "unexpected argument %q", fs.Arg(0))
	}
	q := &prompter{in: bufio.NewReader(stdin), out: out, batch: *nonInteractive, yes: *yes}
	if f, ok := stdin.(*os.File); ok {
		q.tty = f
	}

	cfgPath, polPath := filepath.Join(*dir, "tocsin.yaml"), filepath.Join(*dir, "policy.yaml")
	for _, f := range []string{cfgPath, polPath} {
		if _, err := os.Stat(f); err == nil && !*force {
			return fmt.Errorf("%s exists: not overwritten (give --force to replace it) / %s は既にあります（置き換えるには --force）", f, f)
		}
	}

	// 1. The modem.
	fmt.Fprintln(out, "== Modem / モデム")
	ports := serialPorts("/dev/serial/by-id")
	if len(ports) == 0 {
		fmt.Fprintln(out, "no serial ports in /dev/serial/by-id (a HAT on the Pi's UART is /dev/serial0) / シリアルポートが見つかりません")
	}
	for _, p := range ports {
		fmt.Fprintf(out, "  %s\n", p)
	}
	def := "sim" // the simulator: nothing to find
	if _, err := os.Stat("/dev/serial0"); err == nil {
		def = "/dev/serial0" // a HAT on the Pi's UART
	}
	if len(ports) > 0 {
		def = ports[0]
	}
	devPath := *dev
	if devPath == "" {
		if q.batch {
			return usagef("init", "--non-interactive needs --device")
		}
		devPath = q.ask("Modem device / モデムのデバイス", def)
	}
	if devPath != "sim" {
		for _, h := range portHolders("/proc", devPath) {
			fmt.Fprintf(out, "  ! %s\n", h)
		}
		if modemManagerActive() {
			fmt.Fprintln(out, "  ! ModemManager is running and may grab the modem: sudo systemctl disable --now ModemManager / ModemManager が動作中です（モデムを奪います）")
		}
	}
	mc := ModemConfig{Device: devPath, Baud: *baud}
	m, closeModem, err := openModem(ctx, mc, nil)
	if err != nil {
		return fmt.Errorf("modem %s: %w (is the daemon running? sudo systemctl stop tocsin) / モデムを開けません", devPath, err)
	}
	defer closeModem()
	info, err := m.Probe(ctx)
	if err != nil {
		return fmt.Errorf("modem %s: probe: %w", devPath, err)
	}
	printProbe(out, mc, info)
	mc.Profile = info.Profile

	// 2. Contacts.
	fmt.Fprintln(out, "\n== Contacts / 連絡先")
	var people []escalation.Contact
	for _, c := range contacts {
		ct, err := parseContact(c, *region)
		if err != nil {
			return fmt.Errorf("--contact %q: %w", c, err)
		}
		people = append(people, ct)
	}
	if len(people) == 0 {
		if q.batch {
			return usagef("init", "--non-interactive needs at least one --contact \"id,name,phone,lang\"")
		}
		for {
			people = append(people, q.askContact(len(people)+1, *region))
			if !q.confirm("Add another contact? / 連絡先を追加しますか?", false) {
				break
			}
		}
	}

	// 3. The console login.
	fmt.Fprintln(out, "\n== Web console login / Web コンソールのログイン")
	login := *user
	if !q.batch {
		login = q.ask("Login name / ログイン名", login)
	}
	secret := *password
	if *passwordFile != "" {
		if secret, err = readSecret(*passwordFile); err != nil {
			return fmt.Errorf("--console-password-file: %w", err)
		}
	}
	if secret == "" && !q.batch {
		secret = q.askPassword("Password (8 characters or more) / パスワード（8文字以上）")
	}
	if secret == "" {
		secret = randomHex(8)
		fmt.Fprintf(out, "generated password / 生成したパスワード: %s\n", secret)
	}

	// 4. Sirens.
	var outputs []device.OutputConfig
	if len(sirens) == 0 && !q.batch && *backend != "none" {
		fmt.Fprintln(out, "\n== Sirens / サイレン")
		if s := q.ask("Sirens as ZONE:PIN, comma separated (blank: none) / サイレン（ゾーン:ピン、空欄でなし）", ""); s != "" {
			sirens = strings.Split(s, ",")
		}
	}
	for _, s := range sirens {
		z, pin, ok := strings.Cut(strings.TrimSpace(s), ":")
		if !ok || z == "" || pin == "" {
			return fmt.Errorf("siren %q: want ZONE:PIN such as line1:GPIO17", s)
		}
		if err := device.CheckPin(pin); err != nil && !errors.Is(err, device.ErrNotHeaderName) {
			return fmt.Errorf("siren %q: %w", s, err)
		}
		outputs = append(outputs, device.OutputConfig{ID: "siren-" + z, Pin: pin, Zone: z, Kind: device.KindSiren})
	}
	gpio := device.Config{Backend: *backend, Outputs: outputs}
	if len(outputs) == 0 {
		gpio.Backend = "none"
	}

	// 5. The files.
	fmt.Fprintln(out, "\n== Files / ファイル")
	absDir, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(absDir, 0o750); err != nil {
		return err
	}
	tokenFile := filepath.Join(absDir, "api.token")
	if _, err := os.Stat(tokenFile); err != nil {
		if err := writeSecretFile(tokenFile, randomHex(32)); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s (API token)\n", tokenFile)
	}
	passFile := filepath.Join(absDir, "console-"+login+".pass")
	hash, err := console.HashPassword(secret)
	if err != nil {
		return fmt.Errorf("console password: %w", err)
	}
	if err := writeSecretFile(passFile, hash); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s (console password, as its bcrypt hash)\n", passFile)
	pol := initPolicy(people, gpio, *region, *zone)
	if err := os.WriteFile(polPath, []byte(pol), 0o640); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s\n", polPath)
	cfg := initConfig(*stateDir, filepath.Join(absDir, "policy.yaml"), *listen, tokenFile, login, passFile, mc, gpio)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o640); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s\n", cfgPath)

	// 6. Tests.
	fmt.Fprintln(out, "\n== Tests / テスト")
	first := people[0]
	if q.confirm(fmt.Sprintf("Send a test SMS to %s (%s)? / テスト SMS を送りますか?", first.ID, first.Phone), true) {
		refs, err := m.SendSMS(ctx, first.Phone, testSMS(first.Language))
		if err != nil {
			return fmt.Errorf("test SMS to %s: %w", first.Phone, err)
		}
		fmt.Fprintf(out, "test SMS sent to %s (%d part(s)) / テスト SMS を送信しました\n", first.Phone, len(refs))
	} else {
		fmt.Fprintln(out, "test SMS skipped / テスト SMS は送りません")
	}
	if q.confirm(fmt.Sprintf("Place a test call to %s? / テスト通話をかけますか?", first.Phone), false) {
		if err := modemCall(ctx, m, first.Phone, out); err != nil {
			return fmt.Errorf("test call: %w", err)
		}
	}
	if err := pulseSirens(ctx, q, gpio, out); err != nil {
		return err
	}

	// 7. The check.
	fmt.Fprintln(out, "\n== tocsin check")
	if err := cmdCheck([]string{"-c", cfgPath}, out); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nDone / 完了. Start the daemon / 起動: sudo systemctl restart tocsin\nConsole / コンソール: http://%s/ (login %s)\n", strings.Replace(*listen, "0.0.0.0", "THIS-HOST", 1), login)
	return nil
}

// pulseSirens sounds each siren for two seconds through the device
// package, after asking.
func pulseSirens(ctx context.Context, q *prompter, gpio device.Config, out io.Writer) error {
	if gpio.Backend == "none" || len(gpio.Outputs) == 0 {
		return nil
	}
	b, err := device.OpenBackend(gpio.Backend)
	if err != nil {
		return err
	}
	m, err := device.Open(b, gpio, device.Options{})
	if err != nil {
		return err
	}
	defer m.Close()
	for _, o := range gpio.Outputs {
		if !q.confirm(fmt.Sprintf("Sound siren %s (zone %s, %s) for 2s? / サイレンを2秒鳴らしますか?", o.ID, o.Zone, o.Pin), true) {
			continue
		}
		if err := m.Pulse(ctx, o.ID, 2*time.Second); err != nil {
			return fmt.Errorf("siren %s: %w", o.ID, err)
		}
		fmt.Fprintf(out, "siren %s pulsed / サイレン %s を鳴らしました\n", o.ID, o.ID)
	}
	return nil
}

// testSMS is the text of the test message in the contact's language.
func testSMS(lang string) string {
	host, _ := os.Hostname()
	if lang == "ja" {
		return fmt.Sprintf("Tocsin テスト: この番号に %s から警報が届きます。返信は不要です。", host)
	}
	return fmt.Sprintf("Tocsin test: this number will receive alarms from %s. No reply needed.", host)
}

// parseContact reads "id,name,phone,lang".
func parseContact(s, region string) (escalation.Contact, error) {
	f := strings.Split(s, ",")
	if len(f) < 3 || len(f) > 4 {
		return escalation.Contact{}, errors.New(`want "id,name,phone,lang"`)
	}
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	c := escalation.Contact{ID: f[0], Name: f[1], Language: "en"}
	if len(f) == 4 && f[3] != "" {
		c.Language = f[3]
	}
	if c.Language != "en" && c.Language != "ja" {
		return c, fmt.Errorf("language %q: want ja or en", c.Language)
	}
	if c.ID == "" || strings.ContainsAny(c.ID, " /?#%\"") {
		return c, fmt.Errorf("id %q: use letters, digits, - and _", c.ID)
	}
	n, err := escalation.NormalizeNumber(f[2], region)
	if err != nil {
		return c, err
	}
	c.Phone = n
	return c, nil
}

// initPolicy writes the first policy: the contacts, the tocsin service and
// a general one, one escalation policy (the first contact by SMS with the
// sirens at once, everyone by SMS and voice after 5 minutes) and no
// heartbeats, so nothing pages until an alert comes in.
func initPolicy(people []escalation.Contact, gpio device.Config, region, zone string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by `tocsin init` on %s. Check after editing with\n#   tocsin check -c tocsin.yaml\n", time.Now().Format("2006-01-02 15:04 MST"))
	b.WriteString("contacts:\n")
	for _, c := range people {
		fmt.Fprintf(&b, "  - {id: %s, name: %s, phone: %q, language: %s}\n", c.ID, strconv.Quote(c.Name), c.Phone, c.Language)
	}
	b.WriteString(`services:
  # Tocsin's own faults (modem down, uplink lost) open incidents here.
  - {id: tocsin, name: "Tocsin itself", escalation_policy: default}
  - {id: general, name: "General alarms", escalation_policy: default}
escalation_policies:
  - id: default
    repeat: 2
    levels:
      - after: 0s
        notify:
`)
	fmt.Fprintf(&b, "          - {contact: %s, via: [sms]}\n", people[0].ID)
	seen := map[string]bool{}
	for _, o := range gpio.Outputs {
		if !seen[o.Zone] {
			seen[o.Zone] = true
			fmt.Fprintf(&b, "          - {zone: %s}\n", o.Zone)
		}
	}
	b.WriteString("      - after: 5m\n        notify:\n")
	for _, c := range people {
		fmt.Fprintf(&b, "          - {contact: %s, via: [sms, voice]}\n", c.ID)
	}
	fmt.Fprintf(&b, "settings:\n  default_region: %s\n", strings.ToUpper(region))
	if zone != "" {
		fmt.Fprintf(&b, "  time_zone: %s\n", zone)
	}
	return b.String()
}

// initConfig writes the daemon config.
func initConfig(stateDir, policy, listen, tokenFile, user, passFile string, mc ModemConfig, gpio device.Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# Written by `+"`tocsin init`"+` on %s. Check after editing with
#   tocsin check -c THIS-FILE
state_dir: %s
policy_file: %s
http:
  listen: %q
  tokens:
    - {name: admin, token_file: %s}
  users:
    - {name: %s, password_file: %s}
modem:
  device: %s
  baud: %d
`, time.Now().Format("2006-01-02 15:04 MST"), stateDir, policy, listen, tokenFile, user, passFile, mc.Device, mc.Baud)
	switch mc.Profile {
	case "sim7600", "ec25", "sim800":
		fmt.Fprintf(&b, "  profile: %s\n", mc.Profile)
	}
	fmt.Fprintf(&b, "gpio:\n  backend: %s\n", gpio.Backend)
	if len(gpio.Outputs) > 0 {
		b.WriteString("  outputs:\n")
		for _, o := range gpio.Outputs {
			fmt.Fprintf(&b, "    - {id: %s, pin: %s, zone: %s, kind: siren}\n", o.ID, o.Pin, o.Zone)
		}
	}
	return b.String()
}

// writeSecretFile writes a secret readable by its owner only; when the
// directory belongs to another group (root:tocsin /etc/tocsin) the file
// joins that group with mode 0640, as the package's api.token does, so
// the daemon's user can read it.
// cmdPasswd is `tocsin passwd FILE`: it asks for a console password
// twice, without echo, and writes its bcrypt hash to FILE for an
// http.users password_file, so the file no longer holds the password.
// Without a terminal it reads the password from the first line of stdin.
func cmdPasswd(args []string, stdin io.Reader, out io.Writer) error {
	fs := newFlags("passwd")
	if err := parseFlags(fs, args, out); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("passwd", "want one FILE, the password_file to write")
	}
	file := fs.Arg(0)
	q := &prompter{in: bufio.NewReader(stdin), out: out}
	var pw string
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		q.tty = f
		pw = q.askPassword("Password (8 characters or more) / パスワード（8文字以上）")
	} else {
		pw = q.line()
	}
	if len(pw) < 8 {
		return errors.New("no password of 8 characters or more given; nothing written / 8文字以上のパスワードがないため、何も書き込んでいません")
	}
	hash, err := console.HashPassword(pw)
	if err != nil {
		return err
	}
	if err := writeSecretFile(file, hash); err != nil {
		return err
	}
	fmt.Fprintf(out, say("wrote %s (bcrypt hash); list it as an http.users password_file and restart tocsin\n",
		"%s に書き込みました（bcrypt ハッシュ）。http.users の password_file に指定し、tocsin を再起動してください\n"), file)
	return nil
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func writeSecretFile(file, secret string) error {
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.Chmod(file, 0o600); err != nil { // an existing file keeps its mode otherwise
		return err
	}
	st, err := os.Stat(filepath.Dir(file))
	if err != nil {
		return err
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Gid) != os.Getegid() {
		if err := os.Chown(file, -1, int(sys.Gid)); err == nil {
			return os.Chmod(file, 0o640)
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// hostZone is the host's IANA time zone name: $TZ, else the target of
// /etc/localtime, else /etc/timezone, else UTC.
func hostZone() string {
	if tz := os.Getenv("TZ"); tz != "" {
		return strings.TrimPrefix(tz, ":")
	}
	if l, err := os.Readlink("/etc/localtime"); err == nil {
		if _, z, ok := strings.Cut(l, "zoneinfo/"); ok {
			return z
		}
	}
	if b, err := os.ReadFile("/etc/timezone"); err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b))
	}
	return "UTC"
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// prompter asks questions on out and reads answers from in; in batch mode
// it asks nothing and confirms only with --yes.
type prompter struct {
	in    *bufio.Reader
	out   io.Writer
	tty   *os.File // stdin when it is a file, to turn echo off for passwords
	batch bool
	yes   bool
}

func (q *prompter) line() string {
	s, err := q.in.ReadString('\n')
	if err != nil && s == "" {
		return ""
	}
	return strings.TrimSpace(s)
}

// ask returns the answer, or def when it is blank (or input ended).
func (q *prompter) ask(question, def string) string {
	if def != "" {
		fmt.Fprintf(q.out, "%s [%s]: ", question, def)
	} else {
		fmt.Fprintf(q.out, "%s: ", question)
	}
	if s := q.line(); s != "" {
		return s
	}
	fmt.Fprintln(q.out)
	return def
}

// confirm asks a yes/no question.
func (q *prompter) confirm(question string, def bool) bool {
	if q.batch {
		return q.yes
	}
	if q.yes {
		return true
	}
	d := "y/N"
	if def {
		d = "Y/n"
	}
	fmt.Fprintf(q.out, "%s [%s]: ", question, d)
	switch strings.ToLower(q.line()) {
	case "y", "yes", "はい":
		return true
	case "n", "no", "いいえ":
		return false
	}
	return def
}

// askContact asks for one contact until its phone number reads.
func (q *prompter) askContact(n int, region string) escalation.Contact {
	for {
		id := q.ask(fmt.Sprintf("Contact %d id (letters, digits, - and _) / 連絡先 %d の ID", n, n), "")
		name := q.ask("Name / 名前", id)
		phone := q.ask("Phone (090-1234-5678 or +81...) / 電話番号", "")
		lang := q.ask("Language of SMS (ja or en) / SMS の言語", "ja")
		c, err := parseContact(strings.Join([]string{id, name, phone, lang}, ","), region)
		if err == nil {
			return c
		}
		fmt.Fprintf(q.out, "  ! %v; again / もう一度\n", err)
		if _, err := q.in.Peek(1); err != nil {
			// No more input: give up rather than loop.
			return c
		}
	}
}

// askPassword reads a password, without echo on a terminal, twice.
func (q *prompter) askPassword(question string) string {
	for range 3 {
		// Echo off before the prompt shows: whoever answers it (a
		// person, or expect) may type as soon as it appears.
		restore := q.noEcho()
		fmt.Fprintf(q.out, "%s: ", question)
		p := q.line()
		restore()
		if q.tty != nil {
			fmt.Fprintln(q.out)
		}
		if len(p) < 8 {
			fmt.Fprintln(q.out, "  ! too short / 短すぎます")
			continue
		}
		restore = q.noEcho()
		fmt.Fprintf(q.out, "Again / もう一度: ")
		p2 := q.line()
		restore()
		if q.tty != nil {
			fmt.Fprintln(q.out)
		}
		if p == p2 {
			return p
		}
		fmt.Fprintln(q.out, "  ! they differ / 一致しません")
	}
	return ""
}

// noEcho turns terminal echo off on the tty, returning how to restore it.
func (q *prompter) noEcho() func() {
	if q.tty == nil {
		return func() {}
	}
	fd := int(q.tty.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {}
	}
	old := *t
	t.Lflag &^= unix.ECHO
	if unix.IoctlSetTermios(fd, unix.TCSETS, t) != nil {
		return func() {}
	}
	return func() { unix.IoctlSetTermios(fd, unix.TCSETS, &old) }
}
