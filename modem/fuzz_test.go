package modem

import (
	"encoding/hex"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzScanner checks that framing does not depend on how the bytes are cut
// into reads, and that lines come out clean.
func FuzzScanner(f *testing.F) {
	for _, s := range []string{
		"\r\nOK\r\n", "AT+CSQ\r\r\n+CSQ: 5,99\r\n\r\nOK\r\n", "\r\n> ", "AT+CMGS=23\r\r\n> \x1a",
		"\x00\xff\r\n+CMTI: \"ME\",1\r\n", "\r\r\n+CME ERROR: 10\r\r\n", ">>\r\n>x\r\n", "\n\n\r",
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, cut uint8) {
		var whole scanner
		want := whole.feed(data, nil)
		var parts scanner
		var got []event
		n := int(cut%16) + 1
		for i := 0; i < len(data); i += n {
			got = parts.feed(data[i:min(i+n, len(data))], got)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("chunked %+v != whole %+v", got, want)
		}
		for _, ev := range want {
			if ev.prompt {
				continue
			}
			if ev.line == "" || ev.line != strings.TrimSpace(ev.line) || strings.ContainsAny(ev.line, "\r\n\x00\x1a") || len(ev.line) > maxLine {
				t.Fatalf("bad line %q", ev.line)
			}
		}
	})
}

// FuzzParseFinal checks the final-result parser on any line.
func FuzzParseFinal(f *testing.F) {
	for _, s := range []string{"OK", "ERROR", "+CME ERROR: 10", "+CME ERROR: SIM busy", "+CMS ERROR: 500",
		"+CMS ERROR:", "NO CARRIER", "BUSY", "+CSQ: 1,2", "+CMS ERROR: 99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		kind, err := parseFinal(line)
		switch kind {
		case resultOK:
			if line != "OK" || err != nil {
				t.Fatalf("%q parsed as OK with %v", line, err)
			}
		case resultError:
			if err == nil || err.Error() == "" {
				t.Fatalf("%q: failure without error", line)
			}
		case notFinal:
			if err != nil {
				t.Fatalf("%q: not final but %v", line, err)
			}
		}
	})
}

// FuzzURCParsers runs every URC and information-line parser on any line.
func FuzzURCParsers(f *testing.F) {
	for _, s := range []string{`+CMTI: "ME",3`, `+CMTI: "SM",x`, "+CREG: 1", `+CREG: 2,5,"1A2B","01C3D4",7`,
		"+CEREG: 0,1", "+CSQ: 20,99", "+CSQ: 99,99", `+COPS: 0,0,"NTT DOCOMO",7`, `+CMTI: "a,b",1`, `"""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if _, idx, err := ParseCMTI(line); err == nil && idx < 0 {
			t.Fatalf("negative index from %q", line)
		}
		if r, ok := ParseReg([]string{line}); ok && (r < 0 || r > Roaming) {
			t.Fatalf("registration %d from %q", r, line)
		}
		if dbm, ok := ParseCSQ([]string{line}); ok && (dbm < -113 || dbm > -51) {
			t.Fatalf("signal %d dBm from %q", dbm, line)
		}
		_ = splitParams(line)
		if key, ok := ParseDTMF(line); ok && !strings.ContainsRune("0123456789*#ABCD", rune(key)) {
			t.Fatalf("key %q from %q", key, line)
		}
		for _, c := range ParseCLCC([]string{line}) {
			if c.Stat < 0 || c.Stat > 7 {
				t.Fatalf("call state %d from %q", c.Stat, line)
			}
		}
		if n, err := ParseCLIP(line); err == nil && n == "" {
			t.Fatalf("empty caller from %q", line)
		}
		_ = SpeechText(line)
	})
}

// FuzzDecodeStored runs the inbound PDU decode path on any bytes.
func FuzzDecodeStored(f *testing.F) {
	for _, v := range loadVectors(f).Decode {
		b, err := hex.DecodeString(v.PDU)
		if err == nil {
			f.Add(b, -1)
		}
	}
	f.Add([]byte{0}, 0)
	f.Add([]byte{0x07, 0x91}, 5)
	f.Fuzz(func(t *testing.T, pdu []byte, tlen int) {
		msg := DecodeStored(1, hex.EncodeToString(pdu), tlen)
		if msg.DecodeErr == nil {
			if !utf8.ValidString(msg.Text) {
				t.Fatalf("invalid UTF-8 text %q", msg.Text)
			}
			if c := msg.Concat; c != nil && (c.Seq < 0 || c.Total < 0) {
				t.Fatalf("concat %+v", c)
			}
		}
		// The submit decoder must not panic either.
		_, _, _, _ = DecodeSubmit(pdu)
		_, _ = parseStored([]string{"+CMGL: 1,0,,5", hex.EncodeToString(pdu), string(pdu)}, "+CMGL:", -1)
	})
}

// FuzzCommandAnswer feeds arbitrary modem output to a running engine after
// a command: whatever arrives, Command returns (an answer or an error) and
// the engine keeps working.
func FuzzCommandAnswer(f *testing.F) {
	for _, s := range []string{"\r\n+CSQ: 20,99\r\n", "\r\nRING\r\n", "\r\n> ", "\x00\xff\r", "+CME ERROR: 3\r\n", "OK"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, answer []byte) {
		a, b := net.Pipe()
		defer b.Close()
		m := New(a, Options{CommandTimeout: 2 * time.Second})
		defer m.Close()
		m.HandleURC("RING", func(string) {})
		go func() {
			buf := make([]byte, 64)
			for {
				n, err := b.Read(buf)
				if err != nil {
					return
				}
				if strings.Contains(string(buf[:n]), "\r") {
					b.Write(answer)
					b.Write([]byte("\r\nOK\r\n"))
				}
			}
		}()
		if _, err := m.Command(t.Context(), "AT+CSQ"); err != nil && !strings.Contains(err.Error(), "AT+CSQ") {
			t.Fatalf("error does not name the command: %v", err)
		}
	})
}

// FuzzDecodeStatusReport: any line a modem might send as a status report
// decodes or fails with an error; it never panics.
func FuzzDecodeStatusReport(f *testing.F) {
	f.Add("07912658050000F006010D91265817373754F501010161705382010101617083820000", -1)
	f.Add("0006010D91265817373754F501010161705382010101617083820000", 25)
	f.Add("", 0)
	f.Add("ZZ", 3)
	f.Fuzz(func(t *testing.T, pdu string, n int) {
		r, err := DecodeStatusReport(pdu, n)
		if err == nil && (r.Ref < 0 || r.Ref > 255 || r.Status < 0 || r.Status > 255) {
			t.Errorf("out-of-range report %+v", r)
		}
	})
}
