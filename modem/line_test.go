package modem

import (
	"context"
	"net"
	"reflect"
	"strings"
	"testing"
)

func TestScanner(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []event
	}{
		{"crlf framing", "\r\nOK\r\n", []event{{line: "OK"}}},
		{"double cr framing", "\r\r\n+CSQ: 20,99\r\r\n\r\r\nOK\r\r\n", []event{{line: "+CSQ: 20,99"}, {line: "OK"}}},
		{"echo then answer", "AT+CSQ\r\r\n+CSQ: 5,99\r\n\r\nOK\r\n", []event{{line: "AT+CSQ"}, {line: "+CSQ: 5,99"}, {line: "OK"}}},
		{"prompt", "AT+CMGS=23\r\r\n> ", []event{{line: "AT+CMGS=23"}, {prompt: true}}},
		{"prompt without space", "\r\n>", []event{{prompt: true}}},
		{"garbage and NULs", "\x00\x00\xff\xfe\r\n\x00OK\x00\r\n", []event{{line: "\xff\xfe"}, {line: "OK"}}},
		{"blank lines", "\r\n\r\n  \r\n\n\nRING\r\n", []event{{line: "RING"}}},
		{"ctrl-z and esc dropped", "\x1a\x1bOK\r\n", []event{{line: "OK"}}},
		{"partial line kept", "+CMTI: \"ME\"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s scanner
			got := s.feed([]byte(tt.in), nil)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			// Byte-by-byte delivery gives the same events.
			var s2 scanner
			var got2 []event
			for i := range len(tt.in) {
				got2 = s2.feed([]byte{tt.in[i]}, got2)
			}
			if !reflect.DeepEqual(got2, tt.want) {
				t.Errorf("byte by byte: got %+v, want %+v", got2, tt.want)
			}
		})
	}
}

func TestScannerLongLine(t *testing.T) {
	var s scanner
	evs := s.feed([]byte(strings.Repeat("x", 3*maxLine)+"\r\n"), nil)
	if len(evs) != 3 {
		t.Fatalf("got %d events, want 3 pieces", len(evs))
	}
}

func TestParseFinal(t *testing.T) {
	tests := []struct {
		line string
		kind resultKind
		err  error
	}{
		{"OK", resultOK, nil},
		{"ERROR", resultError, ErrError},
		{"NO CARRIER", resultError, ErrNoCarrier},
		{"BUSY", resultError, ErrBusy},
		{"NO ANSWER", resultError, ErrNoAnswer},
		{"NO DIALTONE", resultError, ErrNoDialtone},
		{"+CME ERROR: 10", resultError, &CMEError{Code: 10, Text: "SIM not inserted"}},
		{"+CME ERROR: SIM not inserted", resultError, &CMEError{Code: 10, Text: "SIM not inserted"}},
		{"+CME ERROR: something odd", resultError, &CMEError{Code: -1, Text: "something odd"}},
		{"+CMS ERROR: 500", resultError, &CMSError{Code: 500, Text: "unknown error"}},
		{"+CMS ERROR: 38", resultError, &CMSError{Code: 38, Text: "code 38"}},
		{"+CMS ERROR: SMSC address unknown", resultError, &CMSError{Code: 330, Text: "SMSC address unknown"}},
		{"+CSQ: 20,99", notFinal, nil},
		{"OK then", notFinal, nil},
		{"RING", notFinal, nil},
	}
	for _, tt := range tests {
		kind, err := parseFinal(tt.line)
		if kind != tt.kind || !reflect.DeepEqual(err, tt.err) {
			t.Errorf("parseFinal(%q) = %v, %v; want %v, %v", tt.line, kind, err, tt.kind, tt.err)
		}
	}
}

func TestSplitParams(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`"ME",3`, []string{"ME", "3"}},
		{`0,0,"NTT DOCOMO",7`, []string{"0", "0", "NTT DOCOMO", "7"}},
		{`1,"a,b",2`, []string{"1", "a,b", "2"}},
		{`0,,23`, []string{"0", "", "23"}},
		{``, []string{""}},
	}
	for _, tt := range tests {
		if got := splitParams(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitParams(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseCSQ(t *testing.T) {
	tests := []struct {
		lines []string
		dbm   int
		ok    bool
	}{
		{[]string{"+CSQ: 20,99"}, -73, true},
		{[]string{"+CSQ: 0,0"}, -113, true},
		{[]string{"+CSQ: 31,99"}, -51, true},
		{[]string{"+CSQ: 99,99"}, 0, false},
		{[]string{"garbage", "+CSQ: 10,0"}, -93, true},
		{[]string{"+CSQ:"}, 0, false},
		{nil, 0, false},
	}
	for _, tt := range tests {
		dbm, ok := ParseCSQ(tt.lines)
		if dbm != tt.dbm || ok != tt.ok {
			t.Errorf("ParseCSQ(%q) = %d, %v; want %d, %v", tt.lines, dbm, ok, tt.dbm, tt.ok)
		}
	}
}

func TestParseReg(t *testing.T) {
	tests := []struct {
		line string
		want Registration
		ok   bool
	}{
		{"+CREG: 0,1", Home, true},
		{"+CREG: 2,5,\"1A2B\",\"01C3D4\",7", Roaming, true},
		{"+CEREG: 0,2", Searching, true},
		{"+CREG: 1", Home, true},
		{"+CREG: 3,\"1A2B\",\"01C3\"", Denied, true},
		{"+CGREG: 0,0", NotRegistered, true},
		{"+CEREG: 0,6", Home, true},
		{"+CREG: x", RegUnknown, false},
		{"+COPS: 0", RegUnknown, false},
	}
	for _, tt := range tests {
		got, ok := ParseReg([]string{tt.line})
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseReg(%q) = %v, %v; want %v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseCMTI(t *testing.T) {
	mem, idx, err := ParseCMTI(`+CMTI: "ME",12`)
	if mem != "ME" || idx != 12 || err != nil {
		t.Errorf("got %q %d %v", mem, idx, err)
	}
	for _, bad := range []string{`+CMTI: "ME"`, `+CMTI: "SM",x`, `+CMTI: "SM",-1`, `RING`, `+CMTI: "ME",1,2`} {
		if _, _, err := ParseCMTI(bad); err == nil {
			t.Errorf("ParseCMTI(%q) accepted", bad)
		}
	}
}

func TestParseStored(t *testing.T) {
	pdu := "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
	msgs, err := parseStored([]string{"+CMGL: 3,0,,33", pdu, "+CMGL: 7,1,,33", pdu}, "+CMGL:", -1)
	if err != nil || len(msgs) != 2 || msgs[0].Index != 3 || msgs[1].Index != 7 || msgs[0].Text != "hellohello" {
		t.Errorf("got %+v, %v", msgs, err)
	}
	msgs, err = parseStored([]string{"+CMGR: 0,,33", pdu}, "+CMGR:", 5)
	if err != nil || len(msgs) != 1 || msgs[0].Index != 5 || msgs[0].From != "27838890001" {
		t.Errorf("got %+v, %v", msgs, err)
	}
	for _, bad := range [][]string{{"+CMGR: 0,,33"}, {"+CMGR: 0,,x", pdu}, {"+CMGR: 0", pdu}} {
		if _, err := parseStored(bad, "+CMGR:", 1); err == nil {
			t.Errorf("parseStored(%q) accepted", bad)
		}
	}
}

func TestParseDTMF(t *testing.T) {
	tests := []struct {
		line string
		key  byte
		ok   bool
	}{
		{"+DTMF: 4", '4', true},
		{"+DTMF:6,160", '6', true},
		{"+DTMF: 1400", 0, false},
		{"+RXDTMF: #", '#', true},
		{"+RXDTMF: a", 'A', true},
		{"+QTONEDET: 52", '4', true},
		{"+QTONEDET: 42", '*', true},
		{"+QTONEDET: 70", 0, false},
		{"+QTONEDET: x", 0, false},
		{"+DTMF:", 0, false},
		{"RING", 0, false},
	}
	for _, tt := range tests {
		key, ok := ParseDTMF(tt.line)
		if key != tt.key || ok != tt.ok {
			t.Errorf("ParseDTMF(%q) = %q, %v; want %q, %v", tt.line, key, ok, tt.key, tt.ok)
		}
	}
}

func TestParseCLCCAndCLIP(t *testing.T) {
	calls := ParseCLCC([]string{`+CLCC: 1,0,3,0,0,"+819012345678",145`, "junk", `+CLCC: 2,1,4,0,0,"0312345678",129`, "+CLCC: 3,0,9,0,0"})
	want := []CallStatus{{ID: 1, Stat: CallAlerting, Voice: true, Number: "+819012345678"}, {ID: 2, Incoming: true, Stat: CallIncoming, Voice: true, Number: "0312345678"}}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("ParseCLCC = %+v", calls)
	}
	for line, want := range map[string]string{
		`+CLIP: "+819012345678",145,"",0,"",0`: "+819012345678",
		`+CLIP: "819012345678",145`:            "+819012345678",
		`+CLIP: "09012345678",129`:             "09012345678",
	} {
		if got, err := ParseCLIP(line); got != want || err != nil {
			t.Errorf("ParseCLIP(%q) = %q, %v", line, got, err)
		}
	}
	if _, err := ParseCLIP(`+CLIP: "",128`); err == nil {
		t.Error("withheld number accepted")
	}
}

func TestSpeechText(t *testing.T) {
	for in, want := range map[string]string{
		"Alert 42: pressure low. Press 4.": "Alert 42: pressure low. Press 4.",
		"a\"b;c\\d\r\nAT+CMGD=1,4\x1a":     "a b c d AT+CMGD=1,4",
		"プレス1号ライン  pressure   low":         "1 pressure low",
		"":                                 "",
		strings.Repeat("x", 300)[:300]:     strings.Repeat("x", 200),
	} {
		if got := SpeechText(in); got != want {
			t.Errorf("SpeechText(%q) = %q, want %q", in, got, want)
		}
	}
}

// Unsolicited lines interleaved with an answer go to their handlers (or
// nowhere), never into the answer; the line is scripted byte for byte.
func TestURCsInterleavedWithAnswer(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	m := New(a, Options{})
	defer m.Close()
	cmti := make(chan string, 1)
	m.HandleURC("+CMTI:", func(l string) { cmti <- l }) // replaces the SMS path for this test
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := b.Read(buf)
			if err != nil {
				return
			}
			if strings.Contains(string(buf[:n]), "AT+CGMM") {
				b.Write([]byte("\r\nRING\r\n\r\nUNDER-VOLTAGE WARNNING\r\n\r\nSIMCOM_SIM7600G-H\r\n\r\n+CMTI: \"ME\",4\r\n\r\n+QIND: \"csq\",20,99\r\n\r\nOK\r\n"))
			}
		}
	}()
	lines, err := m.Command(context.Background(), "AT+CGMM")
	if err != nil || !reflect.DeepEqual(lines, []string{"SIMCOM_SIM7600G-H"}) {
		t.Errorf("answer %q, %v", lines, err)
	}
	if got := <-cmti; got != `+CMTI: "ME",4` {
		t.Errorf("URC %q", got)
	}
}
