package console

import (
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// Every timeline detail Tocsin writes reads in Japanese with names for
// ids; a detail the console does not know is shown as written.
func TestTimelineLines(t *testing.T) {
	pol := &escalation.Policy{
		Contacts: []escalation.Contact{{ID: "tanaka", Name: "田中 太郎"}, {ID: "suzuki", Name: "Suzuki Hanako"}},
		Services: []escalation.Service{{ID: "press-line-1", Name: "プレス1号ライン"}},
	}
	jst := time.FixedZone("JST", 9*3600)
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, jst)
	for _, tc := range []struct {
		kind, detail, en, ja string
	}{
		{"triggered", "critical via http: Hydraulic pressure low", "critical via http: Hydraulic pressure low", "重大 (http経由): Hydraulic pressure low"},
		{"acknowledged", "acknowledged by tanaka via sms", "acknowledged by 田中 太郎 via SMS", "了解済み: 田中 太郎 (SMS経由)"},
		{"resolved", "resolved by demo via console", "resolved by demo via console", "解決済み: demo (コンソール経由)"},
		{"retriggered", "acknowledged but not resolved within the ack timeout; paging again",
			"acknowledged but not resolved within the ack timeout; paging again", "了解後、期限内に解決されなかったため再度呼び出します"},
		{"escalated", "escalated by demo", "escalated by demo", "demo がエスカレート"},
		{"level", "level 2 (loop 1, policy v3): tanaka by sms, suzuki by voice, zone line1",
			"level 2 (loop 1, policy v3): 田中 太郎 by SMS, Suzuki Hanako by voice call, zone line1",
			"レベル2 (1周目、ポリシー v3): 田中 太郎 (SMS)、Suzuki Hanako (音声通話)、ゾーン line1"},
		{"level", "level 1 (loop 2, policy v1): nobody on call", "level 1 (loop 2, policy v1): nobody on call", "レベル1 (2周目、ポリシー v1): 当番不在"},
		{"suppressed", "maintenance window for press-line-1 until 2026-12-06T01:30:00Z: nobody paged",
			"maintenance window for プレス1号ライン until 10:30:00 JST: nobody paged", "プレス1号ライン はメンテナンス中 (10:30:00 JST まで)。誰も呼び出していません"},
		{"zone", "zone line1 raised", "sirens and lights of zone line1 raised", "ゾーン line1 のサイレンと表示灯を作動"},
		{"sent", "SMS to tanaka (+819012345678) sent, modem ref 12", "SMS to 田中 太郎 (+819012345678) sent, modem ref 12",
			"田中 太郎 (+819012345678) へSMS送信、モデム参照番号 12"},
		{"sent", "SMS to tanaka (+819012345678) sent (digest of 3 pages), modem ref 4,5",
			"SMS to 田中 太郎 (+819012345678) sent as a digest of 3 pages, modem ref 4,5", "田中 太郎 (+819012345678) へSMS送信 (3件をまとめて)、モデム参照番号 4,5"},
		{"notify", "SMS to tanaka failed (attempt 1): +CMS ERROR: 38; retrying in 2s", "SMS to 田中 太郎 failed (attempt 1): +CMS ERROR: 38; retrying in 2s",
			"田中 太郎 へのSMS失敗 (1回目): +CMS ERROR: 38。2秒後に再送"},
		{"failed", "call to suzuki not answered (no-answer)", "call to Suzuki Hanako not answered (no answer)", "Suzuki Hanako が応答せず (応答なし)"},
		{"call", "call to suzuki (+819087654321): dialled, rang, answered, key 4, ended",
			"call to Suzuki Hanako (+819087654321): dialled, rang, answered, key 4, ended", "Suzuki Hanako (+819087654321) へ発信: 発信、呼び出し音、応答、キー4、終話"},
		{"sent", "call to suzuki answered; acknowledged by key", "call to Suzuki Hanako answered; acknowledged by key", "Suzuki Hanako が応答し、キーで了解済み"},
		{"reply", `sms reply "4" from tanaka`, `田中 太郎 replied "4" by SMS`, "田中 太郎 の返信「4」(SMS)"},
		{"button", "sirens of zone line1 silenced by silence-1", "sirens of zone line1 silenced by silence-1", "ゾーン line1 のサイレンを silence-1 で停止"},
		{"webhook", "POST to https://example.com answered 500", "POST to https://example.com answered 500", "POST to https://example.com answered 500"},
		{"delivered", "SMS to tanaka delivered to the handset at 03:12:05 JST (after 4s)",
			"SMS to 田中 太郎 delivered to the handset at 03:12:05 JST (after 4s)", "田中 太郎 の端末にSMSが届きました (03:12:05 JST、送信から4秒)"},
		{"failed", "SMS to tanaka not delivered: incompatible destination", "SMS to 田中 太郎 not delivered: incompatible destination",
			"田中 太郎 へのSMSは届きませんでした: incompatible destination"},
		{"failed", "SMS to tanaka: no delivery report within 3m0s; counted as not delivered",
			"SMS to 田中 太郎: no delivery report within 3m; counted as not delivered", "田中 太郎 へのSMS: 3分以内に配達報告がなく、未達として扱いました"},
		{"notify", "SMS to tanaka waiting for the modem: modem not answering", "SMS to 田中 太郎 waiting for the modem: modem not answering",
			"SMS (田中 太郎 宛) はモデムの復旧待ち: modem not answering"},
		{"notify", "page waiting for the modem", "page waiting for the modem", "呼び出しはモデムの復旧待ち"},
		{"notify", "interrupted by restart; may have been sent", "interrupted by restart; may have been sent", "再起動で送信が中断 (送信済みの可能性あり)"},
		{"sent", "E-mail to tanaka (tanaka@factory.example) sent", "e-mail to 田中 太郎 (tanaka@factory.example) sent",
			"メール を 田中 太郎 (tanaka@factory.example) へ送信"},
	} {
		for _, l := range []lang{"en", "ja"} {
			r := lineReader{l: l, n: names{pol}, now: now, zone: jst}
			got := r.line(escalation.TimelineEntry{Kind: tc.kind, Detail: tc.detail})
			want := map[lang]string{"en": tc.en, "ja": tc.ja}[l]
			if got.Text != want {
				t.Errorf("%s %q = %q, want %q", l, tc.detail, got.Text, want)
			}
			if got.Label == "" {
				t.Errorf("%s %s: no label", l, tc.kind)
			}
		}
	}
}

// Channels and states added by other parts of Tocsin are shown by their
// own names until they are translated; the known ones read as words.
func TestStatesAndChannelsOfAnyName(t *testing.T) {
	for _, tc := range []struct {
		n         escalation.Notification
		en, ja    string
		key       string
		enCh, ja2 string
	}{
		{escalation.Notification{Status: "delivered", Channel: "email"}, "delivered", "着信確認済み", "delivered", "e-mail", "メール"},
		{escalation.Notification{Status: "sending", Channel: "push"}, "sending", "送信中", "sending", "push", "プッシュ通知"},
		{escalation.Notification{Status: "cancelled", Channel: "webhook", Error: "cancelled: incident resolved"}, "cancelled: resolved", "取消: 解決済み", "cancelled", "webhook", "ウェブフック"},
		{escalation.Notification{Status: "queued", Channel: "sms", Error: "interrupted by restart; may have been sent"},
			"queued: interrupted by a restart; may have been sent", "送信待ち: 再起動で中断 (送信済みの可能性あり)", "queued", "SMS", "SMS"},
		{escalation.Notification{Status: "bounced", Channel: "fax"}, "bounced", "bounced", "bounced", "fax", "fax"},
	} {
		for _, l := range []lang{"en", "ja"} {
			st := l.stateOf(tc.n)
			want, wantCh := tc.en, tc.enCh
			if l == "ja" {
				want, wantCh = tc.ja, tc.ja2
			}
			if st.Text != want || st.Key != tc.key {
				t.Errorf("%s %s = %+v, want %q (class %s)", l, tc.n.Status, st, want, tc.key)
			}
			if ch := l.channel(tc.n.Channel); ch != wantCh {
				t.Errorf("%s channel %s = %q, want %q", l, tc.n.Channel, ch, wantCh)
			}
		}
	}
}

func TestDurations(t *testing.T) {
	for _, tc := range []struct {
		d      time.Duration
		en, ja string
	}{
		{70 * time.Second, "1m10s", "1分10秒"},
		{2 * time.Minute, "2m", "2分"},
		{5 * time.Second, "5s", "5秒"},
		{90 * time.Minute, "1h30m", "1時間30分"},
		{-time.Second, "0s", "0秒"},
	} {
		if got := lang("en").dur(tc.d); got != tc.en {
			t.Errorf("en %s = %q, want %q", tc.d, got, tc.en)
		}
		if got := lang("ja").dur(tc.d); got != tc.ja {
			t.Errorf("ja %s = %q, want %q", tc.d, got, tc.ja)
		}
	}
}
