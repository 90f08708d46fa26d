-- GET with one extra request header given on the command line: name, value.
function init(args)
  wrk.headers[args[1]] = args[2]
end
