package escalation

// Replicated tells the engine that the store changed behind its back: a
// twin relay's records were merged in (escalation/cluster). Subscribers
// hear about incidents ids, the escalation loop looks at due steps again
// (a twin's ack may have stopped one, a twin's silence may have made one
// due) and the delivery workers look at the outbox (pages released or
// cancelled). Called with no ids it only wakes the loop and the workers.
func (e *Engine) Replicated(ids ...int64) {
	if len(ids) > 0 {
		e.markChanged(ids...)
	}
	e.wake()
	e.outboxChanged()
}
