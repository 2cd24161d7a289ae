package modem_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/modem"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

// rig is a Modem talking through go.bug.st/serial to the simulator on a
// pseudo-terminal: the same path the daemon takes.
type rig struct {
	sim  *modemsim.Sim
	path string
	m    *modem.Modem
}

func newRig(t *testing.T, opts modemsim.Options) *rig {
	t.Helper()
	if opts.SendDelay == 0 {
		opts.SendDelay = time.Millisecond
	}
	sim, path, err := modemsim.StartPTY(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{sim: sim, path: path}
	r.open(t)
	return r
}

// open (re)connects the Modem, as a restarted daemon would, and runs Init.
func (r *rig) open(t *testing.T) {
	t.Helper()
	port, err := modem.OpenSerial(r.path, 115200)
	if err != nil {
		t.Fatal(err)
	}
	r.m = modem.New(port, modem.Options{CommandTimeout: 5 * time.Second})
	m := r.m
	t.Cleanup(func() { m.Close() })
	if err := r.m.Init(t.Context(), ""); err != nil {
		t.Fatalf("Init: %v", err)
	}
}

// barrier returns once every URC the sim sent before now has been handled:
// handlers run in arrival order, so a marker URC's handler runs last.
func (r *rig) barrier(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	r.m.HandleURC("+TESTMARK:", func(string) { close(done) })
	r.sim.EmitURC("+TESTMARK: 1")
	select {
	case <-done:
	case <-t.Context().Done():
		t.Fatal("barrier URC never handled")
	}
	r.m.HandleURC("+TESTMARK:", nil)
}

func waitSent(t *testing.T, sim *modemsim.Sim) modemsim.SentSMS {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	select {
	case s := <-sim.Sent():
		return s
	case <-ctx.Done():
		t.Fatal("no SMS reached the simulator")
	}
	return modemsim.SentSMS{}
}

func TestInitProbe(t *testing.T) {
	r := newRig(t, modemsim.Options{Model: "SIMCOM_SIM7600G-H"})
	info, err := r.m.Probe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := modem.Info{
		Manufacturer: "SIMCOM INCORPORATED", Model: "SIMCOM_SIM7600G-H", Firmware: "LE20B04SIM7600G22",
		IMEI: "867584030012344", SIM: "READY", SignalDBm: -73, SignalKnown: true,
		Registration: modem.Home, Operator: "NTT DOCOMO",
		Profile: "sim7600", KeyDetect: true, Speech: true, ProfileNote: modem.Profiles["sim7600"].Notes,
	}
	if info != want {
		t.Errorf("Probe:\n got %+v\nwant %+v", info, want)
	}
	cmds := r.sim.Commands()
	for _, c := range []string{"ATE0", "AT+CMEE=2", "AT+CPIN?", "AT+CMGF=0", "AT+CNMI=2,1,0,1,0", `AT+CPMS="ME","ME","ME"`} {
		if !slices.Contains(cmds, c) {
			t.Errorf("Init did not send %s; sim saw %q", c, cmds)
		}
	}
}

func TestSendSMS(t *testing.T) {
	r := newRig(t, modemsim.Options{})
	long := strings.Repeat("Hydraulic pressure low on press line 1. ", 8) // 320 chars
	longJA := strings.Repeat("油圧低下プレス1号ライン", 10)                          // 120 chars
	tests := []struct {
		name, to, text string
		enc            string
		parts          int
	}{
		{"ascii", "+819012345678", "[#42 CRIT] press-line-1: Hydraulic pressure low (plc-3)\nReply 4 ack, 6 resolve", "gsm7", 1},
		{"national number", "09012345678", "hello", "gsm7", 1},
		{"japanese", "+819012345678", "[#43 CRIT] プレス1号ライン: 油圧低下", "ucs2", 1},
		{"long ascii", "+819012345678", long, "gsm7", 3},
		{"long japanese", "+819012345678", longJA, "ucs2", 2},
		{"gsm7 extension chars", "+819012345678", "price [10€] {a|b} ~^\\", "gsm7", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refs, err := r.m.SendSMS(t.Context(), tt.to, tt.text)
			if err != nil {
				t.Fatal(err)
			}
			got := waitSent(t, r.sim)
			if got.To != tt.to || got.Text != tt.text {
				t.Errorf("sim got %q to %q, want %q to %q", got.Text, got.To, tt.text, tt.to)
			}
			if len(got.Parts) != tt.parts || len(refs) != tt.parts {
				t.Fatalf("got %d parts and %d refs, want %d", len(got.Parts), len(refs), tt.parts)
			}
			for i, p := range got.Parts {
				if p.Encoding != tt.enc {
					t.Errorf("part %d encoding %s, want %s", i+1, p.Encoding, tt.enc)
				}
				if p.MR != refs[i] {
					t.Errorf("part %d: SendSMS returned ref %d, sim answered %d", i+1, refs[i], p.MR)
				}
				if tt.parts > 1 {
					if p.Concat == nil || p.Concat.Seq != i+1 || p.Concat.Total != tt.parts || p.Concat.Ref != got.Parts[0].Concat.Ref {
						t.Errorf("part %d concat %+v, want seq %d of %d, ref of part 1", i+1, p.Concat, i+1, tt.parts)
					}
				} else if p.Concat != nil {
					t.Errorf("single part has concat %+v", p.Concat)
				}
			}
		})
	}
}

func TestSendSMSReferencesAdvance(t *testing.T) {
	r := newRig(t, modemsim.Options{})
	long := strings.Repeat("x", 200)
	var concatRefs []int
	var mrs []int
	for range 3 {
		refs, err := r.m.SendSMS(t.Context(), "+819012345678", long)
		if err != nil {
			t.Fatal(err)
		}
		got := waitSent(t, r.sim)
		concatRefs = append(concatRefs, got.Parts[0].Concat.Ref)
		mrs = append(mrs, refs...)
	}
	if concatRefs[0] == concatRefs[1] || concatRefs[1] == concatRefs[2] {
		t.Errorf("concatenation references did not advance: %v", concatRefs)
	}
	// TP-MR in the PDUs must advance too (one encoder per Modem).
	hist := r.sim.History()
	seen := map[string]bool{}
	for _, s := range hist {
		for _, p := range s.Parts {
			mr := p.PDU[2:4]
			if seen[mr] {
				t.Errorf("TP-MR %s used twice", mr)
			}
			seen[mr] = true
		}
	}
	if len(mrs) != 6 {
		t.Errorf("got %d refs, want 6", len(mrs))
	}
}

// A summary full of AT syntax and control characters travels as PDU hex
// only: the modem sees exactly one AT+CMGS per part and no other command,
// stored messages survive, and the text arrives unchanged.
func TestSendSMSCannotInjectCommands(t *testing.T) {
	r := newRig(t, modemsim.Options{})
	for _, from := range []string{"+819011111111", "+819022222222"} {
		if err := r.sim.InjectSMS(from, "keep me"); err != nil {
			t.Fatal(err)
		}
	}
	r.barrier(t) // no OnSMS handler: the messages stay stored
	before := len(r.sim.Commands())
	evil := "pressure low\r\nAT+CMGD=1,4\r\x1aAT+CMGD=0\x1a\x1b ATD+819099999999;\rOK\r\n> "
	if _, err := r.m.SendSMS(t.Context(), "+819012345678", evil); err != nil {
		t.Fatal(err)
	}
	got := waitSent(t, r.sim)
	// Control characters are cleaned out (CleanText); the rest is carried
	// verbatim as data.
	if want := modem.CleanText(evil); got.Text != want || !strings.Contains(got.Text, "AT+CMGD=1,4") {
		t.Errorf("text changed on the way: got %q want %q", got.Text, want)
	}
	cmds := r.sim.Commands()[before:]
	for _, c := range cmds {
		if !strings.HasPrefix(c, "AT+CMGS=") {
			t.Errorf("the modem received command %q", c)
		}
	}
	if len(cmds) != len(got.Parts) {
		t.Errorf("modem saw %d commands for %d parts: %q", len(cmds), len(got.Parts), cmds)
	}
	if n := len(r.sim.Stored()); n != 2 {
		t.Errorf("storage holds %d messages after the send, want 2", n)
	}
}

func TestSendSMSBadInput(t *testing.T) {
	r := newRig(t, modemsim.Options{})
	for _, tc := range []struct{ number, text, want string }{
		{"", "x", "phone number"},
		{"+81-90-1234", "x", "not a digit"},
		{"+819012345678", "", "empty"},
		{"AT+CMGD=1,4", "x", "not a digit"},
		{"+819012345678", "bad \xff utf8", "UTF-8"},
	} {
		_, err := r.m.SendSMS(t.Context(), tc.number, tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SendSMS(%q, %q) = %v, want error containing %q", tc.number, tc.text, err, tc.want)
		}
	}
	if n := len(r.sim.History()); n != 0 {
		t.Errorf("%d SMS sent for bad input", n)
	}
}

func TestSendSMSErrors(t *testing.T) {
	r := newRig(t, modemsim.Options{})
	// +CMS ERROR: 500 is returned as it is: the modem never retries on
	// its own (the caller's delivery contract decides).
	r.sim.FailNextSend(500)
	refs, err := r.m.SendSMS(t.Context(), "+819012345678", "not retried here")
	var cms *modem.CMSError
	if !errors.As(err, &cms) || cms.Code != 500 || len(refs) != 0 || errors.Is(err, modem.ErrNotSubmitted) {
		t.Fatalf("after one CMS 500: refs %v err %v, want *CMSError 500, submitted", refs, err)
	}
	if n := len(r.sim.History()); n != 0 {
		t.Fatalf("%d SMS sent after a CMS 500, want none", n)
	}
	// Other CMS errors are returned typed.
	r.sim.FailNextSend(331)
	_, err = r.m.SendSMS(t.Context(), "+819012345678", "no network")
	if !errors.As(err, &cms) || cms.Code != 331 {
		t.Fatalf("got %v, want *CMSError 331", err)
	}
	r.sim.FailNextSend(330)
	_, err = r.m.SendSMS(t.Context(), "+819012345678", "no smsc")
	if !errors.As(err, &cms) || cms.Code != 330 {
		t.Errorf("got %v, want *CMSError 330", err)
	}
	// The modem is still in step afterwards.
	if _, err := r.m.Command(t.Context(), "AT"); err != nil {
		t.Errorf("AT after errors: %v", err)
	}
}

func TestUnknownCommandError(t *testing.T) {
	r := newRig(t, modemsim.Options{})
	_, err := r.m.Command(t.Context(), "AT+NOSUCH")
	if !errors.Is(err, modem.ErrError) {
		t.Errorf("got %v, want ErrError", err)
	}
	_, err = r.m.Command(t.Context(), "AT+CMGR=99")
	var cms *modem.CMSError
	if !errors.As(err, &cms) || cms.Code != 321 {
		t.Errorf("got %v, want CMS ERROR 321", err)
	}
}

type inbox struct {
	mu   sync.Mutex
	msgs []modem.InboundSMS
	ch   chan modem.InboundSMS
	fail error
}

func newInbox() *inbox { return &inbox{ch: make(chan modem.InboundSMS, 100)} }

func (b *inbox) handle(ctx context.Context, msg modem.InboundSMS) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return b.fail
	}
	b.msgs = append(b.msgs, msg)
	b.ch <- msg
	return nil
}

func (b *inbox) next(t *testing.T) modem.InboundSMS {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	select {
	case m := <-b.ch:
		return m
	case <-ctx.Done():
		t.Fatal("no SMS delivered to the handler")
	}
	return modem.InboundSMS{}
}

func TestReceiveSMS(t *testing.T) {
	r := newRig(t, modemsim.Options{})
	in := newInbox()
	r.m.OnSMS(in.handle)
	deleted := make(chan struct{}, 10)
	r.sim.OnCommand(func(line string, _ time.Time) {
		if strings.HasPrefix(line, "AT+CMGD=") {
			deleted <- struct{}{}
		}
	})
	if err := r.sim.InjectSMS("+819012345678", "4 42"); err != nil {
		t.Fatal(err)
	}
	got := in.next(t)
	if got.From != "+819012345678" || got.Text != "4 42" || got.Concat != nil || got.DecodeErr != nil {
		t.Errorf("got %+v", got)
	}
	if time.Since(got.SentAt) > time.Minute || got.PDU == "" {
		t.Errorf("SentAt %v PDU %q", got.SentAt, got.PDU)
	}
	select {
	case <-deleted:
	case <-t.Context().Done():
		t.Fatal("handled SMS never deleted")
	}
	if _, err := r.m.Command(t.Context(), "AT"); err != nil { // runs after AT+CMGD finished
		t.Fatal(err)
	}
	if s := r.sim.Stored(); len(s) != 0 {
		t.Errorf("handled SMS not deleted: storage %v", s)
	}

	// National number and Japanese text.
	if err := r.sim.InjectSMS("09012345678", "了解"); err != nil {
		t.Fatal(err)
	}
	got = in.next(t)
	if got.From != "09012345678" || got.Text != "了解" {
		t.Errorf("got from %q text %q", got.From, got.Text)
	}
}

func TestReceiveConcatenated(t *testing.T) {
	r := newRig(t, modemsim.Options{})
	in := newInbox()
	r.m.OnSMS(in.handle)
	text := strings.Repeat("解決しました。", 20) // 140 chars: 3 UCS-2 parts
	if err := r.sim.InjectSMS("+819012345678", text); err != nil {
		t.Fatal(err)
	}
	var parts []modem.InboundSMS
	for range 3 {
		parts = append(parts, in.next(t))
	}
	var b strings.Builder
	for i, p := range parts {
		if p.Concat == nil || p.Concat.Total != 3 || p.Concat.Seq != i+1 || p.Concat.Ref != parts[0].Concat.Ref {
			t.Errorf("part %d concat %+v", i+1, p.Concat)
		}
		b.WriteString(p.Text)
	}
	if b.String() != text {
		t.Errorf("joined %q, want %q", b.String(), text)
	}
}

// A message the handler fails on stays in storage, and ReadStored after a
// restart offers it again together with messages that arrived while the
// daemon was down.
func TestReadStoredAfterRestart(t *testing.T) {
	r := newRig(t, modemsim.Options{})
	in := newInbox()
	in.fail = errors.New("database locked")
	r.m.OnSMS(in.handle)
	if err := r.sim.InjectSMS("+819012345678", "ack"); err != nil {
		t.Fatal(err)
	}
	r.barrier(t)
	if s := r.sim.Stored(); len(s) != 1 {
		t.Fatalf("storage %v, want the failed message kept", s)
	}
	// The daemon goes away; another reply arrives meanwhile.
	r.m.Close()
	if err := r.sim.InjectSMS("+819087654321", "6 7"); err != nil {
		t.Fatal(err)
	}
	r.open(t)
	in2 := newInbox()
	r.m.OnSMS(in2.handle)
	if err := r.m.ReadStored(t.Context()); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for range 2 {
		texts = append(texts, in2.next(t).Text)
	}
	slices.Sort(texts)
	if !slices.Equal(texts, []string{"6 7", "ack"}) {
		t.Errorf("ReadStored delivered %q", texts)
	}
	if s := r.sim.Stored(); len(s) != 0 {
		t.Errorf("storage %v after ReadStored, want empty", s)
	}
}

func TestURCOrderAndCommandsFromHandlers(t *testing.T) {
	r := newRig(t, modemsim.Options{})
	var got []string
	var signal []int
	done := make(chan struct{})
	r.m.HandleURC("+CUSTOM:", func(line string) {
		got = append(got, line)
		// A handler may issue commands: the reader is not blocked by it.
		lines, err := r.m.Command(t.Context(), "AT+CSQ")
		if err != nil {
			t.Errorf("Command from handler: %v", err)
		}
		dbm, _ := modem.ParseCSQ(lines)
		signal = append(signal, dbm)
		if len(got) == 50 {
			close(done)
		}
	})
	var lines []string
	for i := range 50 {
		lines = append(lines, "+CUSTOM: "+strings.Repeat("x", i%7)+string(rune('a'+i%26)))
	}
	r.sim.EmitURCs(lines)
	select {
	case <-done:
	case <-t.Context().Done():
		t.Fatal("URCs not all handled")
	}
	if !slices.Equal(got, lines) {
		t.Errorf("URCs out of order or lost:\n got %q\nwant %q", got, lines)
	}
	for _, s := range signal {
		if s != -73 {
			t.Errorf("signal from handler %d, want -73", s)
		}
	}
}

func TestURCBurstInOrder(t *testing.T) {
	r := newRig(t, modemsim.Options{})
	const n = 2000
	var got []string
	done := make(chan struct{})
	r.m.HandleURC("+BURST:", func(line string) {
		got = append(got, line)
		if len(got) == n {
			close(done)
		}
	})
	var lines []string
	for i := range n {
		lines = append(lines, "+BURST: "+strings.Repeat("0", 4)+string(rune('0'+i%10))+","+itoa(i))
	}
	r.sim.EmitURCs(lines)
	select {
	case <-done:
	case <-t.Context().Done():
		t.Fatalf("only %d of %d URCs handled", len(got), n)
	}
	if !slices.Equal(got, lines) {
		t.Error("burst URCs out of order")
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// The modem drops off the USB bus under the open port: the reader ends,
// and the ladder's reopen rung brings it back on the same path, with the
// reply that waited in storage.
func TestUnplugRecoveredByReopen(t *testing.T) {
	r := newRig(t, modemsim.Options{})
	if err := r.sim.InjectSMS("+819012345678", "4"); err != nil {
		t.Fatal(err)
	}
	r.barrier(t)
	if err := r.sim.Unplug(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.m.Done():
	case <-t.Context().Done():
		t.Fatal("reader did not notice the unplugged port")
	}
	if _, err := r.m.Command(t.Context(), "AT"); !errors.Is(err, modem.ErrClosed) {
		t.Errorf("command on an unplugged port: %v", err)
	}
	in := newInbox()
	l := &modem.Ladder{
		Open:    func(ctx context.Context) (io.ReadWriteCloser, error) { return modem.OpenSerial(r.path, 115200) },
		Options: modem.Options{CommandTimeout: 5 * time.Second},
		Prepare: func(m *modem.Modem) { m.OnSMS(in.handle) },
	}
	m, rung, err := l.Recover(t.Context(), r.m)
	if err != nil || rung != modem.RungReopen {
		t.Fatalf("Recover: %v %v", rung, err)
	}
	defer m.Close()
	if err := m.ReadStored(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := in.next(t); got.Text != "4" {
		t.Errorf("stored reply %q", got.Text)
	}
	if _, err := m.SendSMS(t.Context(), "+819012345678", "after unplug"); err != nil {
		t.Fatal(err)
	}
	if got := waitSent(t, r.sim); got.Text != "after unplug" {
		t.Errorf("sent %q", got.Text)
	}
}
