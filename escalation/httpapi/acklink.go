package httpapi

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// AckLinks looks up and redeems acknowledge links; *escalation.AckLinks
// is one.
type AckLinks interface {
	Look(ctx context.Context, token string, now time.Time) (escalation.LinkView, error)
	Use(ctx context.Context, token string, now time.Time) (escalation.LinkView, error)
}

// mountAckLinks serves /a/{token}, the links in e-mail, push and chat.
//
// GET shows a page with one button and changes nothing, because mail
// scanners and chat link previews fetch every link they see. POST acts,
// once. The routes take no bearer token and no session: the token in the
// path is the credential (192 random bits, one action on one incident,
// expiring). That is also why they are safe from cross-site request
// forgery: a forged POST has to name the token, and whoever knows the
// token may act anyway; no cookie or ambient credential is involved.
// Framing is refused so that another site cannot overlay the button
// (clickjacking), and the page sends no Referer that would leak the token.
func (s *Server) mountAckLinks(links AckLinks) {
	s.mux.HandleFunc("GET /a/{token}", func(w http.ResponseWriter, r *http.Request) {
		v, err := links.Look(r.Context(), r.PathValue("token"), time.Now())
		s.linkPage(w, v, err, false)
	})
	s.mux.HandleFunc("POST /a/{token}", func(w http.ResponseWriter, r *http.Request) {
		v, err := links.Use(r.Context(), r.PathValue("token"), time.Now())
		if err != nil {
			s.log.Info("acknowledge link refused", "err", err)
		} else {
			s.log.Info("acknowledge link used", "incident", v.Incident.ID, "by", v.Link.Recipient, "action", v.Link.Action)
		}
		s.linkPage(w, v, err, true)
	})
}

type linkPageData struct {
	Title, TitleJA string
	Message        string
	MessageJA      string
	Incident       *escalation.Incident
	Button         string
	ButtonJA       string
}

func (s *Server) linkPage(w http.ResponseWriter, v escalation.LinkView, err error, posted bool) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Robots-Tag", "noindex")
	d := linkPageData{}
	act, actJA := "Acknowledge", "了解"
	if v.Link.Action == escalation.Resolve {
		act, actJA = "Resolve", "解決"
	}
	code := http.StatusOK
	switch {
	case err != nil && escalation.KindOf(err) == escalation.NotFound && v.Link.Hash == "":
		code = statusOf(err)
		d.Title, d.TitleJA = "Link not found", "リンクが見つかりません"
		d.Message, d.MessageJA = "This link is not valid. Nothing was changed.", "このリンクは無効です。何も変更していません。"
	case err != nil && escalation.KindOf(err) == escalation.Gone:
		code = statusOf(err)
		d.Incident = &v.Incident
		d.Title, d.TitleJA = "Link no longer valid", "リンクは無効になりました"
		d.Message = "This link was already used or has expired. Nothing was changed."
		d.MessageJA = "このリンクは使用済みか期限切れです。何も変更していません。"
	case err != nil && escalation.KindOf(err) == escalation.Conflict:
		code = statusOf(err)
		d.Incident = &v.Incident
		d.Title, d.TitleJA = "Already resolved", "解決済みです"
		d.Message, d.MessageJA = "The incident is already resolved.", "このインシデントはすでに解決済みです。"
	case err != nil:
		code = statusOf(err)
		d.Title, d.TitleJA = "Something went wrong", "エラーが発生しました"
		d.Message, d.MessageJA = "Nothing was changed; try again.", "何も変更していません。もう一度お試しください。"
	case posted:
		d.Incident = &v.Incident
		d.Title, d.TitleJA = "Done", "完了"
		d.Message = fmt.Sprintf("Incident #%d is now %s (by %s).", v.Incident.ID, v.Incident.Status, v.Link.Recipient)
		d.MessageJA = fmt.Sprintf("インシデント #%d を%sにしました (%s)。", v.Incident.ID, actJA, v.Link.Recipient)
	default:
		d.Incident = &v.Incident
		d.Title = fmt.Sprintf("%s incident #%d?", act, v.Incident.ID)
		d.TitleJA = fmt.Sprintf("インシデント #%d を%sにしますか?", v.Incident.ID, actJA)
		d.Button, d.ButtonJA = act, actJA
	}
	w.WriteHeader(code)
	if err := linkTmpl.Execute(w, d); err != nil {
		s.log.Warn("link page", "err", err)
	}
}

var linkTmpl = template.Must(template.New("link").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Tocsin: {{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}
button{font-size:1.4rem;padding:.8rem 2rem;width:100%}.inc{background:#f3f3f3;padding:.6rem;border-radius:.3rem}</style></head>
<body><h1>{{.Title}}<br><span lang="ja">{{.TitleJA}}</span></h1>
{{with .Incident}}<p class="inc">#{{.ID}} [{{.Severity}}] {{.Service}}: {{.Summary}}<br>status / 状態: {{.Status}}</p>{{end}}
{{with .Message}}<p>{{.}}</p>{{end}}{{with .MessageJA}}<p lang="ja">{{.}}</p>{{end}}
{{if .Button}}<form method="post"><button type="submit">{{.Button}} / {{.ButtonJA}}</button></form>
<p>Opening this page changed nothing; the button acts. / このページを開いただけでは何も変わりません。ボタンを押すと実行します。</p>{{end}}
</body></html>
`))
