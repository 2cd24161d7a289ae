package mqttapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/tocsin-relay/tocsin/escalation"
)

// Incidents is what the MQTT adapter needs from the engine: commit an event,
// and acknowledge or resolve an incident. Both return only after the
// commit, which is what makes acknowledging the broker afterwards safe.
type Incidents interface {
	Ingest(ctx context.Context, ev escalation.Event) (escalation.IngestResult, error)
	Transition(ctx context.Context, id int64, to escalation.Status, by, via string) (escalation.Incident, error)
}

// HeartbeatFunc records a beat of the policy heartbeat id.
type HeartbeatFunc func(ctx context.Context, id string) error

// Status is the adapter's health for /api/v1/status and metrics.
type Status struct {
	Broker      string     `json:"broker"`
	Connected   bool       `json:"connected"`
	Since       *time.Time `json:"since,omitempty"` // of the current connection state
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	Received    uint64     `json:"received"`     // messages taken from the broker
	Committed   uint64     `json:"committed"`    // alerts and commands committed
	BadPayloads uint64     `json:"bad_payloads"` // rejected, logged and acknowledged
	// Repeats are redeliveries (DUP) of messages committed before the
	// daemon stopped without acknowledging them: acknowledged, not
	// counted again.
	Repeats   uint64 `json:"repeats"`
	Published uint64 `json:"published"` // incident states published
	Connects  uint64 `json:"connects"`
}

// Tuning. The shard count bounds how many messages are committed at once
// (the store batches concurrent commits into one transaction); messages of
// one topic always go to the same shard, so they are committed in order.
// Brokers send at most a window of unacknowledged QoS 1 messages (20 by
// default in mosquitto), so more shards than that would sit idle.
const (
	shards         = 16
	shardQueue     = 64
	publishBatch   = 64
	publishTimeout = 10 * time.Second
	minBackoff     = 500 * time.Millisecond
	maxBackoff     = 30 * time.Second
	// retryCommitMax bounds the wait between attempts to commit while the
	// database is unavailable.
	retryCommitMax = 10 * time.Second
)

// Client is the MQTT adapter. Create it with New and start it with Run;
// Publish and Status may be called from any goroutine at any time.
type Client struct {
	cfg Config
	inc Incidents
	log *slog.Logger

	ackTopic, resolveTopic, statusTopic, incidentPrefix string

	// queues carry messages from paho's delivery goroutine (onMessage)
	// to the shard workers started by Run.
	queues [shards]chan mqtt.Message
	// stopped is closed when Run ends, so onMessage never blocks on a
	// queue nobody reads.
	stopped chan struct{}

	wake chan struct{} // wakes the publisher goroutine
	beat HeartbeatFunc // set before Run; nil: heartbeat topics are not obeyed
	// progress is signalled (without blocking) after every message a
	// worker has finished with and every change of connection state, so
	// tests wait on it instead of sleeping.
	progress chan struct{}

	mu        sync.Mutex // guards the fields below
	cli       mqtt.Client
	connected bool
	since     time.Time
	lastErr   string
	lastErrAt time.Time
	pending   map[int64]escalation.Incident // latest unpublished state per incident

	received, committed, bad, repeats, published, connects atomic.Uint64
}

// New returns a client for cfg that commits through inc. cfg should have
// passed Validate.
func New(cfg Config, inc Incidents, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	c := &Client{
		cfg:            cfg,
		inc:            inc,
		log:            log,
		ackTopic:       cfg.TopicPrefix + "/ack",
		resolveTopic:   cfg.TopicPrefix + "/resolve",
		statusTopic:    cfg.TopicPrefix + "/status",
		incidentPrefix: cfg.TopicPrefix + "/incidents/",
		stopped:        make(chan struct{}),
		wake:           make(chan struct{}, 1),
		progress:       make(chan struct{}, 1),
		pending:        map[int64]escalation.Incident{},
	}
	for i := range c.queues {
		c.queues[i] = make(chan mqtt.Message, shardQueue)
	}
	return c
}

// OnHeartbeat makes messages on the configured heartbeat topics call fn.
// Call it before Run.
func (c *Client) OnHeartbeat(fn HeartbeatFunc) { c.beat = fn }

// Status reports the connection and counters.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := Status{
		Broker:      c.cfg.Broker,
		Connected:   c.connected,
		LastError:   c.lastErr,
		Received:    c.received.Load(),
		Committed:   c.committed.Load(),
		BadPayloads: c.bad.Load(),
		Repeats:     c.repeats.Load(),
		Published:   c.published.Load(),
		Connects:    c.connects.Load(),
	}
	if !c.since.IsZero() {
		t := c.since
		st.Since = &t
	}
	if !c.lastErrAt.IsZero() {
		t := c.lastErrAt
		st.LastErrorAt = &t
	}
	return st
}

// Publish queues inc's state for {prefix}/incidents/{id} (retained, QoS 1).
// It never blocks, so it can be an engine subscriber: states are coalesced
// per incident and sent by Run's publisher, and those queued while the
// broker is away are sent after reconnecting.
func (c *Client) Publish(inc escalation.Incident) {
	c.mu.Lock()
	c.pending[inc.ID] = inc
	c.mu.Unlock()
	c.kick()
}

func (c *Client) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *Client) setError(err error) {
	c.mu.Lock()
	c.lastErr, c.lastErrAt = err.Error(), time.Now()
	c.mu.Unlock()
	c.signal()
}

func (c *Client) setConnected(v bool) {
	c.mu.Lock()
	c.connected, c.since = v, time.Now()
	c.mu.Unlock()
	c.signal()
}

func (c *Client) signal() {
	select {
	case c.progress <- struct{}{}:
	default:
	}
}

// Run connects, subscribes and serves until ctx ends, reconnecting with
// back-off whenever the broker goes away. With Broker "embedded" it first
// starts the broker and stops it on return. It returns nil when ctx ends,
// or an error when it cannot start at all.
//
// Run may be called once per Client.
func (c *Client) Run(ctx context.Context) error {
	stop := sync.OnceFunc(func() { close(c.stopped) })
	defer stop()
	broker := c.cfg.Broker
	if broker == Embedded {
		b, err := startEmbedded(c.cfg, c.log)
		if err != nil {
			return err
		}
		defer b.close()
		broker = "tcp://" + b.dialAddr
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range c.queues {
		wg.Go(func() { c.worker(ctx, c.queues[i]) })
	}
	wg.Go(func() { c.publisher(ctx) })
	defer wg.Wait()
	defer cancel()

	lost := make(chan struct{}, 1)
	opts := mqtt.NewClientOptions().
		AddBroker(broker).
		SetClientID(c.cfg.ClientID).
		SetCleanSession(false).   // the broker keeps our subscriptions and queues QoS 1 messages while we are away
		SetAutoAckDisabled(true). // PUBACK only after the commit (worker)
		SetOrderMatters(true).    // onMessage only queues; it runs on paho's delivery goroutine
		SetAutoReconnect(false).  // Run reconnects, so it sees the session-present flag
		SetConnectRetry(false).
		SetKeepAlive(30*time.Second).
		SetConnectTimeout(10*time.Second).
		SetWriteTimeout(10*time.Second).
		SetWill(c.statusTopic, "offline", 1, true).
		SetDefaultPublishHandler(c.onMessage).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			c.setError(fmt.Errorf("connection lost: %w", err))
			select {
			case lost <- struct{}{}:
			default:
			}
		})
	if c.cfg.Username != "" {
		opts.SetUsername(c.cfg.Username).SetPassword(c.cfg.Password)
	}
	if c.cfg.TLS != nil {
		opts.SetTLSConfig(c.cfg.TLS)
	}
	cli := mqtt.NewClient(opts)
	c.mu.Lock()
	c.cli = cli
	c.mu.Unlock()

	backoff := minBackoff
	subscribed := false
	for ctx.Err() == nil {
		select {
		case <-lost:
		default:
		}
		tok := cli.Connect()
		err := waitToken(ctx, tok, 0)
		if err == nil {
			err = c.online(ctx, cli, tok.(*mqtt.ConnectToken).SessionPresent(), &subscribed)
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			c.setError(fmt.Errorf("%s: %w", broker, err))
			c.log.Warn("mqtt: not connected; retrying", "broker", broker, "err", err, "retry_in", backoff)
			if cli.IsConnected() {
				cli.Disconnect(0)
			}
			sleep(ctx, backoff)
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
		c.connects.Add(1)
		c.setConnected(true)
		c.log.Info("mqtt: connected", "broker", broker, "client_id", c.cfg.ClientID)
		c.kick()
		select {
		case <-ctx.Done():
		case <-lost:
			c.log.Warn("mqtt: connection lost; reconnecting", "broker", broker)
		}
		c.setConnected(false)
	}

	// Stop the workers before saying goodbye, so nothing is acknowledged
	// after "offline": whatever they had not committed stays with the
	// broker and is delivered again on the next start.
	cancel()
	wg.Wait()
	stop() // release onMessage, or paho's Disconnect would wait for it
	if cli.IsConnected() {
		waitToken(context.Background(), cli.Publish(c.statusTopic, 1, true, "offline"), 2*time.Second)
		cli.Disconnect(500)
	}
	return nil
}

// online finishes a connection: subscribe when the broker has no session
// for us (or on the first connection of this run, in case the config
// changed), then announce "online".
//
// Subscribing again when the broker kept the session is avoided on purpose:
// it would make the broker re-send every retained alarm.
func (c *Client) online(ctx context.Context, cli mqtt.Client, sessionPresent bool, subscribed *bool) error {
	if !sessionPresent || !*subscribed {
		filters := map[string]byte{c.ackTopic: 1, c.resolveTopic: 1}
		for _, s := range c.cfg.Subscriptions {
			filters[s.Topic] = 1
		}
		for _, h := range c.cfg.Heartbeats {
			filters[h.Topic] = 1
		}
		tok := cli.SubscribeMultiple(filters, nil)
		if err := waitToken(ctx, tok, publishTimeout); err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
		for topic, code := range tok.(*mqtt.SubscribeToken).Result() {
			if code == 0x80 {
				return fmt.Errorf("subscribe: the broker refused %q (check its ACL)", topic)
			}
		}
		*subscribed = true
	}
	if err := waitToken(ctx, cli.Publish(c.statusTopic, 1, true, "online"), publishTimeout); err != nil {
		return fmt.Errorf("publish %s: %w", c.statusTopic, err)
	}
	return nil
}

// onMessage runs on paho's delivery goroutine: it only hands the message to
// its topic's shard. Blocking here when the shard is full is the
// back-pressure that keeps the broker from flooding a slow disk.
func (c *Client) onMessage(_ mqtt.Client, m mqtt.Message) {
	h := fnv.New32a()
	h.Write([]byte(m.Topic()))
	select {
	case c.queues[h.Sum32()%shards] <- m:
	case <-c.stopped:
	}
}

func (c *Client) worker(ctx context.Context, q <-chan mqtt.Message) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-q:
			if c.handle(ctx, m) {
				m.Ack()
			}
			c.signal()
		}
	}
}

// handle commits one message and reports whether to acknowledge it to the
// broker: yes when committed or when it can never be (a bad payload, which
// would otherwise come back forever); no only when Run is stopping before
// the commit, so the broker delivers it again.
func (c *Client) handle(ctx context.Context, m mqtt.Message) bool {
	c.received.Add(1)
	topic := m.Topic()
	var err error
	switch {
	case topic == c.ackTopic:
		err = c.command(ctx, m.Payload(), escalation.Acknowledged)
	case topic == c.resolveTopic:
		err = c.command(ctx, m.Payload(), escalation.Resolved)
	case strings.HasPrefix(topic, c.cfg.TopicPrefix+"/"):
		return true // our own state topics, seen through a broad filter
	case c.heartbeat(topic) != "":
		id := c.heartbeat(topic)
		if c.beat == nil {
			err = escalation.Invalidf("heartbeat", "heartbeat %q: this daemon does not track heartbeats", id)
			break
		}
		err = commit(ctx, c, func(ctx context.Context) error { return c.beat(ctx, id) })
	default:
		sub, ok := route(c.cfg.Subscriptions, topic)
		if !ok {
			// A subscription the broker kept from an earlier config.
			c.log.Info("mqtt: message on a topic no subscription names; dropped", "topic", topic)
			return true
		}
		var ev escalation.Event
		if ev, err = decodeAlert(sub, topic, m.Payload()); err == nil {
			ev.Message = c.intakeMessage(m)
			err = commit(ctx, c, func(ctx context.Context) error {
				res, err := c.inc.Ingest(ctx, ev)
				if err == nil && res.Repeat {
					c.repeats.Add(1)
					c.log.Info("mqtt: redelivered message was committed before; acknowledged, not counted again",
						"topic", topic, "packet_id", m.MessageID(), "incident", res.IncidentID)
				}
				return err
			})
		}
	}
	switch {
	case err == nil:
		c.committed.Add(1)
		return true
	case ctx.Err() != nil:
		return false
	}
	c.bad.Add(1)
	c.log.Warn("mqtt: message rejected", "topic", topic, "reason", err.Error(), "field", escalation.FieldOf(err))
	return true
}

// intakeMessage identifies a QoS 1 delivery for the store, which commits
// it at most once (escalation.IntakeMessage): the slot is the broker, our
// session (client id) and the packet id; the hash covers topic and
// payload; DUP marks the broker's redelivery of a message it sent before
// and got no PUBACK for, which is the only case that can repeat a commit
// (the daemon stopped between the commit and the PUBACK). QoS 0 messages
// are never redelivered and carry none.
func (c *Client) intakeMessage(m mqtt.Message) escalation.IntakeMessage {
	if m.Qos() == 0 {
		return escalation.IntakeMessage{}
	}
	h := sha256.New()
	h.Write([]byte(m.Topic()))
	h.Write([]byte{0})
	h.Write(m.Payload())
	return escalation.IntakeMessage{
		Slot:        fmt.Sprintf("mqtt|%s|%s|%d", c.cfg.Broker, c.cfg.ClientID, m.MessageID()),
		Hash:        hex.EncodeToString(h.Sum(nil)[:16]),
		Redelivered: m.Duplicate(),
	}
}

// heartbeat returns the heartbeat id a topic beats, or "".
func (c *Client) heartbeat(topic string) string {
	for _, h := range c.cfg.Heartbeats {
		if topicMatch(h.Topic, topic) {
			return h.Heartbeat
		}
	}
	return ""
}

// command acknowledges or resolves an incident from {prefix}/ack or
// {prefix}/resolve.
func (c *Client) command(ctx context.Context, payload []byte, to escalation.Status) error {
	cmd, err := decodeCommand(payload)
	if err != nil {
		return err
	}
	return commit(ctx, c, func(ctx context.Context) error {
		_, err := c.inc.Transition(ctx, cmd.IncidentID, to, cmd.By, "mqtt")
		return err
	})
}

// commit runs fn until it succeeds, fails for good (bad input, unknown
// incident, wrong state) or ctx ends. While the store is unavailable the
// message is neither dropped nor acknowledged: it waits here, and the
// broker holds everything behind it.
func commit(ctx context.Context, c *Client, fn func(context.Context) error) error {
	wait := 100 * time.Millisecond
	for {
		err := fn(ctx)
		switch escalation.KindOf(err) {
		case escalation.Invalid, escalation.NotFound, escalation.Conflict:
			return err
		}
		if err == nil || ctx.Err() != nil {
			return err
		}
		c.setError(fmt.Errorf("commit: %w", err))
		c.log.Warn("mqtt: could not commit; will retry", "err", err, "retry_in", wait)
		sleep(ctx, wait)
		wait = min(2*wait, retryCommitMax)
	}
}

// publisher owns the publishing of incident states: it drains pending while
// connected, in batches, and puts back whatever the broker did not confirm.
func (c *Client) publisher(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		}
		for ctx.Err() == nil {
			c.mu.Lock()
			cli, ok := c.cli, c.connected
			batch := make([]escalation.Incident, 0, min(len(c.pending), publishBatch))
			if ok {
				for _, inc := range c.pending {
					batch = append(batch, inc)
				}
				sort.Slice(batch, func(i, j int) bool { return batch[i].ID < batch[j].ID })
				batch = batch[:min(len(batch), publishBatch)]
				for _, inc := range batch {
					delete(c.pending, inc.ID)
				}
			}
			c.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			if !c.publishBatch(ctx, cli, batch) {
				break // wait for the next connection's kick
			}
		}
	}
}

func (c *Client) publishBatch(ctx context.Context, cli mqtt.Client, batch []escalation.Incident) bool {
	toks := make([]mqtt.Token, len(batch))
	for i, inc := range batch {
		b, err := json.Marshal(inc)
		if err != nil {
			c.log.Error("mqtt: cannot encode incident", "incident", inc.ID, "err", err)
			continue
		}
		toks[i] = cli.Publish(c.incidentPrefix+strconv.FormatInt(inc.ID, 10), 1, true, b)
	}
	okAll := true
	for i, tok := range toks {
		if tok == nil {
			continue
		}
		if err := waitToken(ctx, tok, publishTimeout); err != nil {
			okAll = false
			c.mu.Lock()
			if _, newer := c.pending[batch[i].ID]; !newer {
				c.pending[batch[i].ID] = batch[i]
			}
			c.mu.Unlock()
			continue
		}
		c.published.Add(1)
	}
	return okAll
}

// waitToken waits for tok, ctx or (when positive) timeout.
func waitToken(ctx context.Context, tok mqtt.Token, timeout time.Duration) error {
	var expire <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-expire:
		return errors.New("timed out waiting for the broker")
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Connected reports whether the broker connection is up (the status light).
func (c *Client) Connected() bool { return c.Status().Connected }
