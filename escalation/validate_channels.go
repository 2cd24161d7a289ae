package escalation

import (
	"fmt"
	"net/mail"
	"net/url"
	"slices"
)

// Validation of e-mail, push and webhook settings (see Validate).

// checkEmail accepts one bare address such as tanaka@factory.example.
func checkEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return fmt.Errorf("%q is not an e-mail address such as tanaka@factory.example", s)
	}
	return nil
}

// validTopic: ntfy topics are 1–64 of [-_A-Za-z0-9].
func validTopic(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// checkHTTPURL accepts an absolute http or https URL with a host.
func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL with a host", s)
	}
	return nil
}

func (v *validator) webhooks(p *Policy, services map[string]bool) {
	for i, w := range p.Webhooks {
		path := fmt.Sprintf("webhooks[%d]", i)
		if w.URL == "" {
			v.add(path+".url", "missing: where the webhook posts")
		} else if err := checkHTTPURL(w.URL); err != nil {
			v.add(path+".url", "%v", err)
		}
		switch w.Format {
		case "", FormatGeneric:
		case FormatSlack, FormatTeams:
			if w.TemplateFile != "" {
				v.add(path+".template_file", "a template is for format generic; %s has its own payload", w.Format)
			}
		default:
			v.add(path+".format", "unknown format %q (want slack, teams or generic)", w.Format)
		}
		for j, s := range w.Subscribe {
			v.serviceRef(fmt.Sprintf("%s.subscribe[%d]", path, j), s, services)
		}
	}
}

// addresses checks that the people a target pages by e-mail or push have
// an address there, and that links can be made (settings.public_url)
// wherever e-mail, push or a webhook pages someone.
func (v *validator) addresses(path string, t Target, p *Policy) {
	linked := t.Webhook != ""
	var people []string
	switch {
	case t.Contact != "":
		people = []string{t.Contact}
	case t.Schedule != "":
		if s, ok := p.Schedule(t.Schedule); ok {
			for _, l := range s.Layers {
				people = append(people, l.Members...)
			}
			for _, o := range s.Overrides {
				people = append(people, o.Contact)
			}
		}
	}
	for i, ch := range t.Via {
		if ch != Email && ch != Push {
			continue
		}
		linked = true
		var missing []string
		for _, id := range people {
			c, ok := p.Contact(id)
			if !ok || slices.Contains(missing, id) {
				continue
			}
			if (ch == Email && c.Email == "") || (ch == Push && c.NtfyTopic == "") {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			field := "email"
			if ch == Push {
				field = "ntfy_topic"
			}
			v.add(fmt.Sprintf("%s.via[%d]", path, i), "%s pages %v, who have no %s", ch, missing, field)
		}
	}
	if linked && p.Settings.PublicURL == "" && !v.linkReported {
		// Said once, at the first target that needs it.
		v.linkReported = true
		v.add(path, "e-mail, push and webhook pages carry acknowledge links: set settings.public_url (how phones reach this server, e.g. http://tocsin.factory.lan:8080)")
	}
}
