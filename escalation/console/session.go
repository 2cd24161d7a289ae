package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Cookie names. The session cookie carries only a random id; the server
// keeps who it belongs to.
const (
	sessionCookie = "tocsin_session"
	loginCookie   = "tocsin_login" // double-submit token of the login form
	langCookie    = "tocsin_lang"
)

// session is one logged-in browser. Sessions live in memory: a restarted
// daemon asks everyone to log in again, which is the safe default.
type session struct {
	id       string
	user     string
	readOnly bool
	csrf     string

	mu      sync.Mutex // guards expires
	expires time.Time
}

func (s *session) checkCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.csrf)) == 1
}

// sessions is the session table; every method is safe for concurrent use.
type sessions struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]*session
}

// maxSessions bounds memory if something logs in in a loop.
const maxSessions = 10000

func newSessions(ttl time.Duration) *sessions {
	return &sessions{ttl: ttl, m: map[string]*session{}}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics on failure instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (ss *sessions) create(user string, readOnly bool, now time.Time) *session {
	s := &session{id: randomToken(), user: user, readOnly: readOnly, csrf: randomToken(), expires: now.Add(ss.ttl)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.m) >= maxSessions {
		for id, old := range ss.m {
			old.mu.Lock()
			expired := now.After(old.expires)
			old.mu.Unlock()
			if expired {
				delete(ss.m, id)
			}
		}
		if len(ss.m) >= maxSessions {
			// Still full: drop an arbitrary one rather than refuse the
			// operator in front of the screen.
			for id := range ss.m {
				delete(ss.m, id)
				break
			}
		}
	}
	ss.m[s.id] = s
	return s
}

// fromRequest returns the live session named by r's cookie and extends it.
func (ss *sessions) fromRequest(r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	now := time.Now()
	ss.mu.Lock()
	s := ss.m[ck.Value]
	ss.mu.Unlock()
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.After(s.expires) {
		ss.remove(s.id)
		return nil
	}
	s.expires = now.Add(ss.ttl)
	return s
}

func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	delete(ss.m, id)
	ss.mu.Unlock()
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
}

// loginLimiter slows password guessing: at most maxFailures failed logins
// per client address per window.
type loginLimiter struct {
	mu       sync.Mutex
	failures map[string][]time.Time
}

const (
	maxFailures   = 10
	failureWindow = time.Minute
)

func newLoginLimiter() *loginLimiter { return &loginLimiter{failures: map[string][]time.Time{}} }

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (l *loginLimiter) recent(addr string, now time.Time) []time.Time {
	fs := l.failures[addr]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) > failureWindow {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(l.failures, addr)
	} else {
		l.failures[addr] = fs
	}
	return fs
}

// allowed reports whether addr may try to log in now.
func (l *loginLimiter) allowed(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(addr, now)) < maxFailures
}

func (l *loginLimiter) fail(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.failures) > 10000 {
		clear(l.failures)
	}
	l.failures[addr] = append(l.recent(addr, now), now)
}

// authenticate checks a user/password or a token against the configured
// logins. A user's secret is a bcrypt hash or, in older configs, the
// password itself (passwordMatches).
func (c *Console) authenticate(user, password, token string) (Login, bool) {
	var found Login
	ok := false
	if token != "" {
		for _, t := range c.opts.Tokens {
			if subtle.ConstantTimeCompare([]byte(t.Secret), []byte(token)) == 1 && t.Secret != "" && !ok {
				found, ok = t, true
			}
		}
		return found, ok
	}
	// The password is checked for the user with that name only (a bcrypt
	// comparison costs tens of milliseconds), and against a dummy hash
	// when there is none, so that the time taken does not say whether the
	// name exists.
	checked := false
	for _, u := range c.opts.Users {
		if subtle.ConstantTimeCompare([]byte(u.Name), []byte(user)) != 1 || checked {
			continue
		}
		checked = true
		if passwordMatches(u.Secret, password) {
			found, ok = u, true
		}
	}
	if !checked {
		passwordMatches(dummyHash(), password)
	}
	return found, ok
}

type loginData struct {
	Next       string
	Error      string
	User       string
	LoginToken string
	HasUsers   bool
	HasTokens  bool
}

func (c *Console) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	if s := c.sessions.fromRequest(r); s != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.renderLogin(w, r, http.StatusOK, loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, code int, d loginData) {
	d.LoginToken = randomToken()
	d.HasUsers, d.HasTokens = len(c.opts.Users) > 0, len(c.opts.Tokens) > 0
	setCookie(w, r, loginCookie, d.LoginToken, 600)
	c.render(w, r, code, "login", request{lang: pickLang(r)}, "login", d)
}

func (c *Console) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	rq := request{lang: pickLang(r)}
	next := safeNext(r.PostFormValue("next"))
	// The login form itself is protected against cross-site posts (a
	// login CSRF would sign the victim in as the attacker) by a
	// double-submit token: the form field must match a cookie only this
	// site can set.
	ck, err := r.Cookie(loginCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("login_csrf"))) != 1 {
		c.renderLogin(w, r, http.StatusForbidden, loginData{Next: next, Error: rq.lang.T("login_expired")})
		return
	}
	now := time.Now()
	addr := clientAddr(r)
	if !c.limiter.allowed(addr, now) {
		c.renderLogin(w, r, http.StatusTooManyRequests, loginData{Next: next, Error: rq.lang.T("login_throttled")})
		return
	}
	user, token := r.PostFormValue("user"), r.PostFormValue("token")
	login, ok := c.authenticate(user, r.PostFormValue("password"), token)
	if !ok {
		c.limiter.fail(addr, now)
		c.log.Warn("console login failed", "user", user, "with_token", token != "", "addr", addr)
		msg := rq.lang.T("login_failed")
		if token != "" {
			msg = rq.lang.T("login_failed_token")
		}
		c.renderLogin(w, r, http.StatusUnauthorized, loginData{Next: next, Error: msg, User: user})
		return
	}
	s := c.sessions.create(login.Name, login.ReadOnly, now)
	setCookie(w, r, sessionCookie, s.id, int(c.opts.SessionTTL.Seconds()))
	setCookie(w, r, loginCookie, "", -1)
	c.log.Info("console login", "user", login.Name, "read_only", login.ReadOnly, "with_token", token != "", "addr", addr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) handleLogout(w http.ResponseWriter, r *http.Request) {
	s := c.sessions.fromRequest(r)
	if s != nil {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if !s.checkCSRF(csrfFrom(r)) {
			c.fail(w, r, http.StatusForbidden, "missing or wrong CSRF token: reload the page and try again")
			return
		}
		c.sessions.remove(s.id)
	}
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// handleLang switches the UI language with a cookie and goes back.
func (c *Console) handleLang(w http.ResponseWriter, r *http.Request) {
	l := r.PathValue("lang")
	if _, ok := messages[l]; !ok {
		http.Error(w, "unknown language "+url.PathEscape(l)+": want en or ja", http.StatusBadRequest)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, HttpOnly: true})
	http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
}
