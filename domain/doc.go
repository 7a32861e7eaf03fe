// Package domain is the pure, event-sourced model of a specialist alliance: hospitals,
// alliances and their members, protocols and their versions, adoptions, shared treatment
// plans, expert dispatches (with each expert's schedule) and remote consults.
//
// Every aggregate lives in one file and follows one shape:
//
//   - a state struct (the zero value is "does not exist yet") with an Evolve method that
//     folds one event into the state; an unknown event leaves the state unchanged;
//   - a closed set of commands (structs implementing the aggregate's command interface);
//   - a Decide function: (state, command) -> events or a coded *Error.
//
// The package does no I/O and reads no clock and no randomness: times and ids arrive on
// the commands. It imports only the standard library and github.com/oklog/ulid/v2.
// Facts owned by another aggregate (is the hospital an active member? which protocol
// version did it adopt?) are loaded by the caller and passed in on the command, so each
// decision is a pure function of its inputs and is tested as such.
package domain
