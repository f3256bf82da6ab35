//go:build !race

package main

// raceEnabled: the tests run with the race detector, and build what they start with it too.
const raceEnabled = false
