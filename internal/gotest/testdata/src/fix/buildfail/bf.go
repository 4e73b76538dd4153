package buildfail

func F() int { return "not an int" }
