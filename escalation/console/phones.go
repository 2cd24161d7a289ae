package console

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/tocsin-relay/tocsin/escalation"
)

// phoneView is one simulated phone: a contact and its messages, oldest
// first.
type phoneView struct {
	Contact  escalation.Contact
	Known    bool
	Number   string
	Messages []PhoneMessage
	Call     *ActiveCall // the call in progress on this phone, if any
}

type phonesView struct {
	Phones []phoneView
	policy *escalation.Policy
}

func (v phonesView) pol() *escalation.Policy { return v.policy }

// maxPhoneMessages is how many messages each phone shows (the newest).
const maxPhoneMessages = 30

func (c *Console) handlePhones(w http.ResponseWriter, r *http.Request, rq request) {
	if c.opts.Phones == nil {
		c.fail(w, r, http.StatusNotFound, "simulated phones exist only in the demo (modem.device: sim)")
		return
	}
	pol := c.opts.Engine.Policy()
	v := phonesView{policy: pol, Phones: groupPhones(pol, c.opts.Phones.Messages())}
	if pc, ok := c.opts.Phones.(PhoneCalls); ok {
		if call, ok := pc.ActiveCall(); ok {
			placed := false
			for i := range v.Phones {
				if escalation.SameNumber(v.Phones[i].Number, call.Number, pol.Settings.DefaultRegion) {
					v.Phones[i].Call, placed = &call, true
					break
				}
			}
			if !placed {
				v.Phones = append(v.Phones, phoneView{Number: call.Number, Call: &call})
			}
		}
	}
	c.render(w, r, http.StatusOK, "phones", rq, "phones", v)
}

// groupPhones sorts messages into one phone per contact (in policy order),
// then one per unknown number.
func groupPhones(pol *escalation.Policy, msgs []PhoneMessage) []phoneView {
	phones := make([]phoneView, 0, len(pol.Contacts))
	for _, ct := range pol.Contacts {
		phones = append(phones, phoneView{Contact: ct, Known: true, Number: ct.Phone})
	}
	others := map[string]int{}
	for _, m := range msgs {
		placed := false
		for i := range phones[:len(pol.Contacts)] {
			if escalation.SameNumber(phones[i].Number, m.Number, pol.Settings.DefaultRegion) {
				phones[i].Messages = append(phones[i].Messages, m)
				placed = true
				break
			}
		}
		if placed {
			continue
		}
		i, ok := others[m.Number]
		if !ok {
			i = len(phones)
			others[m.Number] = i
			phones = append(phones, phoneView{Number: m.Number})
		}
		phones[i].Messages = append(phones[i].Messages, m)
	}
	for i := range phones {
		if n := len(phones[i].Messages); n > maxPhoneMessages {
			phones[i].Messages = phones[i].Messages[n-maxPhoneMessages:]
		}
	}
	return phones
}

// handlePhoneSMS sends an SMS from a contact's simulated phone.
func (c *Console) handlePhoneSMS(w http.ResponseWriter, r *http.Request, rq request) {
	if c.opts.Phones == nil {
		c.fail(w, r, http.StatusNotFound, "simulated phones exist only in the demo (modem.device: sim)")
		return
	}
	ct, ok := c.opts.Engine.Policy().Contact(r.PathValue("contact"))
	if !ok {
		c.fail(w, r, http.StatusNotFound, fmt.Sprintf("no contact %q in the policy", r.PathValue("contact")))
		return
	}
	text := strings.TrimSpace(r.PostFormValue("text"))
	if text == "" {
		c.fail(w, r, http.StatusBadRequest, "text is required: the SMS to send, such as 4 or 6 42")
		return
	}
	if len(text) > 1000 {
		c.fail(w, r, http.StatusBadRequest, "text is longer than 1000 bytes")
		return
	}
	if err := c.opts.Phones.Send(r.Context(), ct.Phone, text); err != nil {
		c.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	c.log.Info("console: simulated phone sent an SMS", "user", rq.sess.user, "contact", ct.ID, "text", text)
	if wantsJSON(r) {
		writeJSON(w, http.StatusAccepted, map[string]string{"contact": ct.ID, "text": text})
		return
	}
	http.Redirect(w, r, "/phones", http.StatusSeeOther)
}

// handlePhoneCall is the callee's side of the call in progress on a
// contact's simulated phone: form field "do" is answer, hangup or a key.
func (c *Console) handlePhoneCall(w http.ResponseWriter, r *http.Request, rq request) {
	pc, ok := c.opts.Phones.(PhoneCalls)
	if !ok {
		c.fail(w, r, http.StatusNotFound, "the simulated phones carry no calls here")
		return
	}
	pol := c.opts.Engine.Policy()
	ct, ok := pol.Contact(r.PathValue("contact"))
	if !ok {
		c.fail(w, r, http.StatusNotFound, fmt.Sprintf("no contact %q in the policy", r.PathValue("contact")))
		return
	}
	call, ok := pc.ActiveCall()
	if !ok || !escalation.SameNumber(ct.Phone, call.Number, pol.Settings.DefaultRegion) {
		c.fail(w, r, http.StatusConflict, fmt.Sprintf("no call in progress on %s's phone", ct.ID))
		return
	}
	action := r.PostFormValue("do")
	switch {
	case action == "answer", action == "hangup":
	case len(action) == 1 && strings.Contains("0123456789*#", action):
	default:
		c.fail(w, r, http.StatusBadRequest, fmt.Sprintf("do %q: want answer, hangup or a key 0-9, * or #", action))
		return
	}
	if err := pc.CallAction(r.Context(), action); err != nil {
		c.fail(w, r, http.StatusConflict, err.Error())
		return
	}
	c.log.Info("console: simulated phone call action", "user", rq.sess.user, "contact", ct.ID, "do", action)
	if wantsJSON(r) {
		writeJSON(w, http.StatusAccepted, map[string]string{"contact": ct.ID, "do": action})
		return
	}
	http.Redirect(w, r, "/phones", http.StatusSeeOther)
}
