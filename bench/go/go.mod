module awaitkit.bench/peer-go

go 1.19
