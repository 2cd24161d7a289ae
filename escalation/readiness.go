package escalation

import "fmt"

// Readiness says whether a policy can page anybody at all. A relay that
// records alerts but cannot reach a person is the most dangerous state an
// on-call system can be in, because it looks healthy: the package's
// example policy is in this state on purpose (it must never page a
// stranger), and the daemon shows it in its status, console and status
// light until a policy that reaches someone is applied.
type Readiness struct {
	// Configured is true when at least one contact with an address to page
	// (a phone number for SMS and voice, an e-mail address, an ntfy topic)
	// is named by some level of the escalation policy of some service,
	// directly or as a member or override of a schedule that such a level
	// names.
	Configured bool `json:"configured"`
	// Reachable lists the ids of the contacts that can be paged, in policy
	// order.
	Reachable []string `json:"reachable_contacts,omitempty"`
	// Reason and ReasonJA say, for an operator, why nobody can be paged;
	// empty when Configured.
	Reason   string `json:"not_configured_reason,omitempty"`
	ReasonJA string `json:"not_configured_reason_ja,omitempty"`
}

// CheckReadiness decides whether p can page anybody. It is a pure function
// of the policy: who is on call right now does not matter (a schedule
// whose member is off duty tonight still pages someone tomorrow), only
// whether any path from a service leads to a person with an address.
// Zones (sirens and lights) and webhooks (chat rooms, MES) do not count:
// they reach a place, not the person who must act. A nil policy is "no
// policy applied".
func CheckReadiness(p *Policy) Readiness {
	const (
		head   = "not configured: no contact can be paged"
		headJA = "未設定: 呼び出せる連絡先がありません"
	)
	if p == nil || (len(p.Services) == 0 && len(p.Contacts) == 0) {
		return Readiness{
			Reason:   head + " (no policy is applied; write one and run `tocsin policy apply FILE`)",
			ReasonJA: headJA + "（ポリシーが適用されていません。作成して `tocsin policy apply FILE` を実行してください）",
		}
	}
	named := map[string]bool{} // contact ids some service's levels reach
	for _, svc := range p.Services {
		if ep, ok := p.EscalationPolicy(svc.EscalationPolicy); ok {
			p.addLevelContacts(named, ep.Levels)
		}
	}
	var r Readiness
	for _, c := range p.Contacts {
		if named[c.ID] && (c.Phone != "" || c.Email != "" || c.NtfyTopic != "") {
			r.Reachable = append(r.Reachable, c.ID)
		}
	}
	if len(r.Reachable) > 0 {
		r.Configured = true
		return r
	}
	switch {
	case len(p.Contacts) == 0:
		r.Reason = head + " (the policy has no contacts; add people with a phone number)"
		r.ReasonJA = headJA + "（ポリシーに連絡先がありません。電話番号のある担当者を追加してください）"
	default:
		r.Reason = fmt.Sprintf("%s (%d contacts, but no escalation level of any service names one with a phone number, e-mail address or ntfy topic)", head, len(p.Contacts))
		r.ReasonJA = fmt.Sprintf("%s（連絡先は %d 件ありますが、どのサービスのエスカレーション段階にも電話番号・メールアドレス・ntfy トピックのある連絡先が指定されていません）", headJA, len(p.Contacts))
	}
	return r
}
