package evidence

import (
	"strings"
)

// PathNames is the one table of path segments conventionally used for
// WebSocket endpoints. A route path counts as WebSocket evidence when one of
// its segments (split on anything but letters, digits, '.', '_' and '-', so
// that regex paths split too) equals one of these, case-insensitively.
//
// The table is deliberately short: a name here makes a route a WebSocket
// route, and a false alarm is a bug. Names that are also common REST paths
// (`hubs`, `live`, `stream`, `subscriptions`, `events`) are left out; such
// routes are made WebSocket routes by the annotation
// ws-defaults.io/websocket: "true" or by routing to a WebSocket port.
//
//	segment      where it comes from
//	ws, wss      the generic convention (`/ws`, `/api/live/ws`, `/push/ws`)
//	websocket    generic; also the transport segment of SockJS
//	             (`/<prefix>/<server>/<session>/websocket`) and Phoenix
//	             (`/socket/websocket`, `/live/websocket`)
//	websockets   generic plural
//	socket.io    Socket.IO's default `path` option (`/socket.io/`)
//	engine.io    Engine.IO's default path, under Socket.IO
//	sockjs       SockJS endpoints (Spring's `withSockJS()`, Meteor `/sockjs`)
//	cable        Rails Action Cable's default mount path (`/cable`)
//	signalr      ASP.NET SignalR's default route (`/signalr`); ASP.NET Core
//	             hubs are mapped to app-chosen paths and need the annotation
//	primus       Primus's default pathname (`/primus`)
//	stomp        STOMP-over-WebSocket endpoints (`/stomp`, Spring examples)
var PathNames = []string{
	"ws", "wss", "websocket", "websockets",
	"socket.io", "engine.io", "sockjs",
	"cable", "signalr", "primus", "stomp",
}

// PathSegment returns the segment of path that is in PathNames ("" when none).
func PathSegment(path string) string {
	segs := strings.FieldsFunc(strings.ToLower(path), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	})
	for _, s := range segs {
		s = strings.Trim(s, ".")
		for _, n := range PathNames {
			if s == n {
				return n
			}
		}
	}
	return ""
}

// portNameTokens are the tokens of a port name (split on '-') that say the
// port carries WebSocket: `ws`, `wss`, `websocket` (`ws`, `http-ws`,
// `websocket-api`; not `news` or `wsgi`).
var portNameTokens = []string{"ws", "wss", "websocket"}

// PortNameToken returns the token of a port name that says WebSocket ("" when none).
func PortNameToken(name string) string {
	for _, t := range strings.Split(strings.ToLower(name), "-") {
		for _, w := range portNameTokens {
			if t == w {
				return w
			}
		}
	}
	return ""
}

// WebSocketAppProtocols are the appProtocol values (KEP-3726) that declare a
// WebSocket port.
var WebSocketAppProtocols = []string{"kubernetes.io/ws", "kubernetes.io/wss"}
