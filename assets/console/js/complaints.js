// The complaints pages (list, one complaint with its alerts): see main.js.
