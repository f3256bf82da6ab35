package main

import "strconv"

// orderSize is the size of every order body appendOrder writes, in bytes.
const orderSize = 1024

// orderLines is the number of order lines; with the customer and totals it fills about 850 bytes
// before the note pads the order to orderSize.
const orderLines = 16

var customers = [...]struct{ name, email string }{
	{"Ada Lovelace", "ada.lovelace@example.com"},
	{"Grace Hopper", "grace.hopper@example.com"},
	{"Alan Turing", "alan.turing@example.org"},
	{"Katherine Johnson", "katherine.johnson@example.net"},
	{"Edsger Dijkstra", "edsger.dijkstra@example.com"},
	{"Barbara Liskov", "barbara.liskov@example.org"},
	{"Margaret Hamilton", "margaret.hamilton@example.net"},
	{"Ken Thompson", "ken.thompson@example.com"},
}

const noteText = "Please leave the parcel at the front desk if nobody answers. "

// appendOrder appends the order with the given id to dst and returns the extended slice: compact
// JSON of exactly orderSize bytes with id, customer{name,email}, currency, lines[{sku,qty,price}],
// total (the exact sum of qty*price, two decimals) and a note that pads it. The same id always
// gives the same order; different ids give different orders.
func appendOrder(dst []byte, id uint64) []byte {
	start := len(dst)
	c := customers[id%uint64(len(customers))]
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendUint(dst, id, 10)
	dst = append(dst, `,"customer":{"name":"`...)
	dst = append(dst, c.name...)
	dst = append(dst, `","email":"`...)
	dst = append(dst, c.email...)
	dst = append(dst, `"},"currency":"EUR","lines":[`...)
	var total uint64 // cents
	for i := range uint64(orderLines) {
		h := splitmix(id*orderLines + i)
		sku := h % 10000
		qty := 1 + (h>>16)%5
		price := 100 + (h>>24)%9900 // 1.00 to 99.99
		total += qty * price
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"sku":"SKU-`...)
		dst = appendPadded(dst, sku, 4)
		dst = append(dst, `","qty":`...)
		dst = strconv.AppendUint(dst, qty, 10)
		dst = append(dst, `,"price":`...)
		dst = appendCents(dst, price)
		dst = append(dst, '}')
	}
	dst = append(dst, `],"total":`...)
	dst = appendCents(dst, total)
	dst = append(dst, `,"note":"`...)
	for pad := orderSize - (len(dst) - start) - len(`"}`); pad > 0; {
		n := min(pad, len(noteText))
		dst = append(dst, noteText[:n]...)
		pad -= n
	}
	return append(dst, `"}`...)
}

// appendCents appends c hundredths as a decimal with two fraction digits ("19.90").
func appendCents(dst []byte, c uint64) []byte {
	dst = strconv.AppendUint(dst, c/100, 10)
	dst = append(dst, '.')
	return appendPadded(dst, c%100, 2)
}

// appendPadded appends v in decimal, zero-padded to width digits.
func appendPadded(dst []byte, v uint64, width int) []byte {
	var b [20]byte
	s := strconv.AppendUint(b[:0], v, 10)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// splitmix is the SplitMix64 finaliser: a cheap, well-mixed hash of x.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
