import CProtobufC
import ONNXProto

/// Converts protobuf-c's unpacked ModelProto into the Swift IR.
///
/// Raw tensor data arrives as sentinel references (see `RawDataDetacher`) and becomes `ByteView`s
/// of `source`, so weights are never copied. Every other field is converted, including presence of
/// default-valued fields and unknown fields.
struct ProtoReader {
    let source: ByteStorage
    let fileName: String

    func model(_ m: UnsafePointer<Onnx__ModelProto>) throws -> Model {
        let p = m.pointee
        var out = Model()
        out.proto = extras(m)
        if p.has_ir_version != 0 {
            out.irVersion = p.ir_version
            if p.ir_version == 0 { out.proto.markExplicit(Model.Field.irVersion) }
        }
        out.opsetImports = array(p.opset_import, p.n_opset_import, opset)
        out.producerName = string(p.producer_name, Model.Field.producerName, &out.proto)
        out.producerVersion = string(p.producer_version, Model.Field.producerVersion, &out.proto)
        out.domain = string(p.domain, Model.Field.domain, &out.proto)
        if p.has_model_version != 0 {
            out.modelVersion = p.model_version
            if p.model_version == 0 { out.proto.markExplicit(Model.Field.modelVersion) }
        }
        out.docString = string(p.doc_string, Model.Field.docString, &out.proto)
        if let g = p.graph { out.graph = try graph(g) }
        out.metadata = array(p.metadata_props, p.n_metadata_props, pair)
        out.trainingInfo = try throwingArray(p.training_info, p.n_training_info, trainingInfo)
        out.functions = try throwingArray(p.functions, p.n_functions, function)
        out.configuration = array(p.configuration, p.n_configuration, opaque)
        return out
    }

    func graph(_ g: UnsafePointer<Onnx__GraphProto>) throws -> Graph {
        let p = g.pointee
        var out = Graph()
        out.proto = extras(g)
        out.nodes = try throwingArray(p.node, p.n_node, node)
        out.name = string(p.name, Graph.Field.name, &out.proto)
        out.initializers = try throwingArray(p.initializer, p.n_initializer, tensor)
        out.sparseInitializers = try throwingArray(p.sparse_initializer, p.n_sparse_initializer, sparseTensor)
        out.docString = string(p.doc_string, Graph.Field.docString, &out.proto)
        out.inputs = array(p.input, p.n_input, valueInfo)
        out.outputs = array(p.output, p.n_output, valueInfo)
        out.valueInfo = array(p.value_info, p.n_value_info, valueInfo)
        out.quantizationAnnotations = array(p.quantization_annotation, p.n_quantization_annotation, opaque)
        out.metadata = array(p.metadata_props, p.n_metadata_props, pair)
        return out
    }

    func node(_ n: UnsafePointer<Onnx__NodeProto>) throws -> Node {
        let p = n.pointee
        var out = Node()
        out.proto = extras(n)
        out.inputs = strings(p.input, p.n_input)
        out.outputs = strings(p.output, p.n_output)
        out.name = string(p.name, Node.Field.name, &out.proto)
        out.opType = string(p.op_type, Node.Field.opType, &out.proto)
        out.domain = string(p.domain, Node.Field.domain, &out.proto)
        out.overload = string(p.overload, Node.Field.overload, &out.proto)
        out.attributes = try throwingArray(p.attribute, p.n_attribute, attribute)
        out.docString = string(p.doc_string, Node.Field.docString, &out.proto)
        out.metadata = array(p.metadata_props, p.n_metadata_props, pair)
        out.deviceConfigurations = array(p.device_configurations, p.n_device_configurations, opaque)
        return out
    }

    func attribute(_ a: UnsafePointer<Onnx__AttributeProto>) throws -> Attribute {
        let p = a.pointee
        var out = Attribute()
        out.proto = extras(a)
        out.name = string(p.name, Attribute.Field.name, &out.proto)
        out.refAttrName = string(p.ref_attr_name, Attribute.Field.refAttrName, &out.proto)
        out.docString = string(p.doc_string, Attribute.Field.docString, &out.proto)
        if p.has_type != 0 {
            out.type = AttributeType(rawValue: Int32(truncatingIfNeeded: p.type.rawValue))
            if out.type.rawValue == 0 { out.proto.markExplicit(Attribute.Field.type) }
        }
        if p.has_f != 0 {
            out.f = p.f
            if p.f.bitPattern == 0 { out.proto.markExplicit(Attribute.Field.f) }
        }
        if p.has_i != 0 {
            out.i = p.i
            if p.i == 0 { out.proto.markExplicit(Attribute.Field.i) }
        }
        if p.has_s != 0 {
            out.s = bytes(p.s)
            if out.s.isEmpty { out.proto.markExplicit(Attribute.Field.s) }
        }
        if let t = p.t { out.t = try tensor(t) }
        if let g = p.g { out.g = try graph(g) }
        if let s = p.sparse_tensor { out.sparseTensor = try sparseTensor(s) }
        if let tp = p.tp { out.tp = typeProto(tp) }
        out.floats = scalars(p.floats, p.n_floats)
        out.ints = scalars(p.ints, p.n_ints)
        out.strings = (0..<p.n_strings).map { bytes(p.strings[$0]) }
        out.tensors = try throwingArray(p.tensors, p.n_tensors, tensor)
        out.graphs = try throwingArray(p.graphs, p.n_graphs, graph)
        out.sparseTensors = try throwingArray(p.sparse_tensors, p.n_sparse_tensors, sparseTensor)
        out.typeProtos = array(p.type_protos, p.n_type_protos, typeProto)
        return out
    }

    func tensor(_ t: UnsafePointer<Onnx__TensorProto>) throws -> Tensor {
        let p = t.pointee
        var out = Tensor()
        // Sentinel references become views of the source; every other unknown field is kept.
        let base = UnsafeRawPointer(t).assumingMemoryBound(to: ProtobufCMessage.self).pointee
        for k in 0..<Int(base.n_unknown_fields) {
            let u = base.unknown_fields[k]
            if u.tag == RawDataReference.sentinelField {
                let payload = unknownPayload(u)
                guard let ref = payload.withUnsafeBytes({ RawDataReference.decodeReference($0) }),
                      ref.offset <= source.count, ref.length <= source.count - ref.offset else {
                    throw OnnxSlimError.badInput(fileName, "malformed protobuf: bad raw_data reference")
                }
                out.raw = ByteView(storage: source, offset: ref.offset, count: ref.length)
            } else {
                out.proto.unknownFields.append(unknownField(u))
            }
        }
        out.dims = scalars(p.dims, p.n_dims)
        if p.has_data_type != 0 {
            out.dataType = DataType(p.data_type)
            if p.data_type == 0 { out.proto.markExplicit(Tensor.Field.dataType) }
        }
        if let s = p.segment { out.segment = opaque(s) }
        out.floatData = scalars(p.float_data, p.n_float_data)
        out.int32Data = scalars(p.int32_data, p.n_int32_data)
        out.stringData = (0..<p.n_string_data).map { ByteView(copying: bytes(p.string_data[$0])) }
        out.int64Data = scalars(p.int64_data, p.n_int64_data)
        out.name = string(p.name, Tensor.Field.name, &out.proto)
        out.docString = string(p.doc_string, Tensor.Field.docString, &out.proto)
        if p.has_raw_data != 0 && out.raw == nil {
            // Small or empty raw_data that was not detached.
            out.raw = ByteView(copying: bytes(p.raw_data))
        }
        out.externalData = array(p.external_data, p.n_external_data, pair)
        if p.has_data_location != 0 {
            out.dataLocation = Int32(truncatingIfNeeded: p.data_location.rawValue)
            if out.dataLocation == 0 { out.proto.markExplicit(Tensor.Field.dataLocation) }
        }
        out.doubleData = scalars(p.double_data, p.n_double_data)
        out.uint64Data = scalars(p.uint64_data, p.n_uint64_data)
        out.metadata = array(p.metadata_props, p.n_metadata_props, pair)
        return out
    }

    func sparseTensor(_ s: UnsafePointer<Onnx__SparseTensorProto>) throws -> SparseTensor {
        let p = s.pointee
        var out = SparseTensor()
        out.proto = extras(s)
        if let v = p.values { out.values = try tensor(v) }
        if let i = p.indices { out.indices = try tensor(i) }
        out.dims = scalars(p.dims, p.n_dims)
        return out
    }

    func valueInfo(_ v: UnsafePointer<Onnx__ValueInfoProto>) -> ValueInfo {
        let p = v.pointee
        var out = ValueInfo()
        out.proto = extras(v)
        out.name = string(p.name, ValueInfo.Field.name, &out.proto)
        if let t = p.type { out.type = typeProto(t) }
        out.docString = string(p.doc_string, ValueInfo.Field.docString, &out.proto)
        out.metadata = array(p.metadata_props, p.n_metadata_props, pair)
        return out
    }

    func typeProto(_ t: UnsafePointer<Onnx__TypeProto>) -> TypeProto {
        let p = t.pointee
        var out = TypeProto()
        out.proto = extras(t)
        out.denotation = string(p.denotation, TypeProto.Field.denotation, &out.proto)
        switch p.value_case {
        case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE:
            if let x = p.tensor_type {
                out.value = .tensor(tensorType(extras(x), x.pointee.has_elem_type, x.pointee.elem_type, x.pointee.shape))
            }
        case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE:
            if let x = p.sparse_tensor_type {
                out.value = .sparseTensor(tensorType(extras(x), x.pointee.has_elem_type, x.pointee.elem_type, x.pointee.shape))
            }
        case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE:
            if let x = p.sequence_type {
                var c = ContainerType()
                c.proto = extras(x)
                if let e = x.pointee.elem_type { c.elemType = typeProto(e) }
                out.value = .sequence(c)
            }
        case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE:
            if let x = p.optional_type {
                var c = ContainerType()
                c.proto = extras(x)
                if let e = x.pointee.elem_type { c.elemType = typeProto(e) }
                out.value = .optional(c)
            }
        case ONNX__TYPE_PROTO__VALUE_MAP_TYPE:
            if let x = p.map_type {
                var m = MapType()
                m.proto = extras(x)
                if x.pointee.has_key_type != 0 {
                    m.keyType = DataType(x.pointee.key_type)
                    if x.pointee.key_type == 0 { m.proto.markExplicit(MapType.Field.keyType) }
                }
                if let v = x.pointee.value_type { m.valueType = typeProto(v) }
                out.value = .map(m)
            }
        case ONNX__TYPE_PROTO__VALUE_OPAQUE_TYPE:
            if let x = p.opaque_type {
                var o = OpaqueType()
                o.proto = extras(x)
                o.domain = string(x.pointee.domain, OpaqueType.Field.domain, &o.proto)
                o.name = string(x.pointee.name, OpaqueType.Field.name, &o.proto)
                out.value = .opaque(o)
            }
        default:
            break
        }
        return out
    }

    /// TypeProto.Tensor and TypeProto.SparseTensor carry the same fields.
    private func tensorType(_ extras: ProtoExtras, _ hasElemType: protobuf_c_boolean, _ elemType: Int32,
                            _ shapeProto: UnsafeMutablePointer<Onnx__TensorShapeProto>?) -> TensorType {
        var t = TensorType()
        t.proto = extras
        if hasElemType != 0 {
            t.elemType = DataType(elemType)
            if elemType == 0 { t.proto.markExplicit(TensorType.Field.elemType) }
        }
        if let s = shapeProto { t.shape = shape(s) }
        return t
    }

    private func shape(_ s: UnsafePointer<Onnx__TensorShapeProto>) -> Shape {
        var out = Shape()
        out.proto = extras(s)
        out.dims = array(s.pointee.dim, s.pointee.n_dim) { d in
            var dim = Dimension()
            dim.proto = extras(d)
            switch d.pointee.value_case {
            case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE: dim.value = .value(d.pointee.dim_value)
            case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM:
                dim.value = .param(d.pointee.dim_param.map { String(cString: $0) } ?? "")
            default: dim.value = .unknown
            }
            dim.denotation = string(d.pointee.denotation, Dimension.Field.denotation, &dim.proto)
            return dim
        }
        return out
    }

    func function(_ f: UnsafePointer<Onnx__FunctionProto>) throws -> Function {
        let p = f.pointee
        var out = Function()
        out.proto = extras(f)
        out.name = string(p.name, Function.Field.name, &out.proto)
        out.inputs = strings(p.input, p.n_input)
        out.outputs = strings(p.output, p.n_output)
        out.attributeNames = strings(p.attribute, p.n_attribute)
        out.attributeProtos = try throwingArray(p.attribute_proto, p.n_attribute_proto, attribute)
        out.nodes = try throwingArray(p.node, p.n_node, node)
        out.docString = string(p.doc_string, Function.Field.docString, &out.proto)
        out.opsetImports = array(p.opset_import, p.n_opset_import, opset)
        out.domain = string(p.domain, Function.Field.domain, &out.proto)
        out.overload = string(p.overload, Function.Field.overload, &out.proto)
        out.valueInfo = array(p.value_info, p.n_value_info, valueInfo)
        out.metadata = array(p.metadata_props, p.n_metadata_props, pair)
        return out
    }

    func trainingInfo(_ t: UnsafePointer<Onnx__TrainingInfoProto>) throws -> TrainingInfo {
        let p = t.pointee
        var out = TrainingInfo()
        out.proto = extras(t)
        if let g = p.initialization { out.initialization = try graph(g) }
        if let g = p.algorithm { out.algorithm = try graph(g) }
        out.initializationBinding = array(p.initialization_binding, p.n_initialization_binding, pair)
        out.updateBinding = array(p.update_binding, p.n_update_binding, pair)
        return out
    }

    func opset(_ o: UnsafePointer<Onnx__OperatorSetIdProto>) -> OperatorSetID {
        var out = OperatorSetID(version: 0)
        out.proto = extras(o)
        out.domain = string(o.pointee.domain, OperatorSetID.Field.domain, &out.proto)
        if o.pointee.has_version != 0 {
            out.version = o.pointee.version
            if o.pointee.version == 0 { out.proto.markExplicit(OperatorSetID.Field.version) }
        }
        return out
    }

    func pair(_ e: UnsafePointer<Onnx__StringStringEntryProto>) -> StringPair {
        var proto = extras(e)
        let key = string(e.pointee.key, 1, &proto)
        let value = string(e.pointee.value, 2, &proto)
        var out = StringPair(key, value)
        out.proto = proto
        return out
    }

    /// Any message the IR keeps opaque: packed back to bytes.
    func opaque<M>(_ m: UnsafePointer<M>) -> OpaqueMessage {
        let msg = UnsafeRawPointer(m).assumingMemoryBound(to: ProtobufCMessage.self)
        let size = protobuf_c_message_get_packed_size(msg)
        var bytes = [UInt8](repeating: 0, count: size)
        bytes.withUnsafeMutableBufferPointer { _ = protobuf_c_message_pack(msg, $0.baseAddress) }
        return OpaqueMessage(serialized: bytes)
    }

    // MARK: - Field helpers

    /// Unknown fields of any protobuf-c message (its first member is ProtobufCMessage).
    private func extras<M>(_ m: UnsafePointer<M>) -> ProtoExtras {
        var e = ProtoExtras()
        let base = UnsafeRawPointer(m).assumingMemoryBound(to: ProtobufCMessage.self).pointee
        if base.n_unknown_fields > 0 {
            e.unknownFields = (0..<Int(base.n_unknown_fields)).map { unknownField(base.unknown_fields[$0]) }
        }
        return e
    }

    private func unknownField(_ u: ProtobufCMessageUnknownField) -> UnknownField {
        UnknownField(fieldNumber: u.tag, wireType: UInt8(truncatingIfNeeded: u.wire_type.rawValue),
                     payload: unknownPayload(u))
    }

    /// The payload of an unknown field; protobuf-c keeps the length prefix of length-delimited
    /// fields in `data`, which the IR does not.
    private func unknownPayload(_ u: ProtobufCMessageUnknownField) -> [UInt8] {
        let all = UnsafeRawBufferPointer(start: u.data, count: u.len)
        guard u.wire_type == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED else { return Array(all) }
        var skip = 0
        while skip < all.count && all[skip] & 0x80 != 0 { skip += 1 }
        return Array(all.dropFirst(min(skip + 1, all.count)))
    }

    /// An optional string field: "" when absent, and the presence bit when present but empty.
    private func string(_ p: UnsafeMutablePointer<CChar>?, _ field: Int, _ extras: inout ProtoExtras) -> String {
        guard let p else { return "" }
        if p.pointee == 0 {
            extras.markExplicit(field)
            return ""
        }
        return String(cString: p)
    }

    private func strings(_ p: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ n: Int) -> [String] {
        guard let p, n > 0 else { return [] }
        return (0..<n).map { p[$0].map { String(cString: $0) } ?? "" }
    }

    private func bytes(_ b: ProtobufCBinaryData) -> [UInt8] {
        guard b.len > 0, let d = b.data else { return [] }
        return Array(UnsafeBufferPointer(start: d, count: b.len))
    }

    private func scalars<T>(_ p: UnsafeMutablePointer<T>?, _ n: Int) -> [T] {
        guard let p, n > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: p, count: n))
    }

    private func array<C, T>(_ p: UnsafeMutablePointer<UnsafeMutablePointer<C>?>?, _ n: Int,
                             _ convert: (UnsafePointer<C>) -> T) -> [T] {
        guard let p, n > 0 else { return [] }
        var out: [T] = []
        out.reserveCapacity(n)
        for k in 0..<n { if let e = p[k] { out.append(convert(e)) } }
        return out
    }

    private func throwingArray<C, T>(_ p: UnsafeMutablePointer<UnsafeMutablePointer<C>?>?, _ n: Int,
                                     _ convert: (UnsafePointer<C>) throws -> T) throws -> [T] {
        guard let p, n > 0 else { return [] }
        var out: [T] = []
        out.reserveCapacity(n)
        for k in 0..<n { if let e = p[k] { out.append(try convert(e)) } }
        return out
    }
}
