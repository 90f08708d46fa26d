-- GET one of many paths (one a line in the file given as first argument), round robin.
local paths = {}
local counter = 0

function init(args)
  for line in io.lines(args[1]) do table.insert(paths, line) end
  counter = math.random(#paths)
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
