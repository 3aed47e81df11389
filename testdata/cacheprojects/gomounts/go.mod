module example.com/gomounts

go 1.22
